// Run with 2 ranks: the overlapped gradient reducer leaves in every .grad the weighted sum over
// ranks, written out by hand, for a parameter used twice, one never used and one larger than a
// bucket, over two steps (no stale bucket contents), with many buckets in flight.
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/torch.h>

#include "tests/tiny_run.h"
#include "worker/communicator.h"
#include "worker/device.h"
#include "worker/gradient_reducer.h"
#include "worker/mpi_communicator.h"

namespace vmunet {
namespace {

struct Problem {
  torch::Tensor a, b, c, d;  // c is never used
  torch::Tensor xa, xb;
  std::vector<torch::Tensor> params() const { return {a, b, c, d}; }
};

Problem make_problem(const torch::Device& device) {
  torch::manual_seed(5);  // the same on every rank
  auto opts = torch::TensorOptions().device(device);
  Problem p{torch::randn({3, 4}, opts).requires_grad_(),
            torch::randn({5}, opts).requires_grad_(),
            torch::randn({2}, opts).requires_grad_(),
            torch::randn({1000}, opts).requires_grad_(),
            torch::randn({3, 4}, opts),
            torch::randn({5}, opts)};
  return p;
}

// Rank r's loss at step s; b appears twice, so autograd adds its two gradients first.
torch::Tensor loss_of(const Problem& p, int r, int s) {
  const double k = r + 1 + 10 * s;
  return (p.a * p.xa).sum() * k + (p.b * p.b).sum() * k + (p.b * p.xb).sum() + p.d.sum() * k;
}

// Σ_r w_r·∇loss_r by hand: ∇a = k·xa, ∇b = 2k·b + xb, ∇c = 0, ∇d = k.
std::vector<torch::Tensor> expected(const Problem& p, const std::vector<double>& w, int s) {
  std::vector<torch::Tensor> sum{torch::zeros_like(p.a), torch::zeros_like(p.b),
                                 torch::zeros_like(p.c), torch::zeros_like(p.d)};
  torch::NoGradGuard no_grad;
  for (size_t r = 0; r < w.size(); ++r) {
    const double k = double(r) + 1 + 10 * s;
    sum[0] += w[r] * k * p.xa;
    sum[1] += w[r] * (2 * k * p.b + p.xb);
    sum[3] += w[r] * k;
  }
  return sum;
}

TEST(GradientReducer, LeavesTheWeightedSumOverRanksInEveryGrad) {
  const torch::Device device = choose_device(test::test_device(), local_rank());
  auto comm = make_group_communicator(MPI_COMM_WORLD, device);
  ASSERT_EQ(comm->size(), 2) << "run this test with mpirun -np 2";
  const auto p = make_problem(device);
  const std::vector<double> w{0.25, 0.75};
  GradientReducer reducer(p.params(), *comm, /*bucket_bytes=*/64);
  for (int s = 0; s < 2; ++s) {
    reducer.prepare(w[comm->rank()]);
    loss_of(p, comm->rank(), s).backward();
    reducer.finish();
    const auto want = expected(p, w, s);
    const auto params = p.params();
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_TRUE(params[i].grad().defined()) << "param " << i;
      EXPECT_TRUE(torch::allclose(params[i].grad().cpu(), want[i].cpu(), 1e-6, 1e-6))
          << "step " << s << " param " << i;
    }
  }
}

TEST(GradientReducer, OneRankScalesAndFillsMissingGradientsAndLeavesFrozenOnes) {
  auto local = make_local_communicator();
  const auto p = make_problem(torch::kCPU);
  const auto frozen = torch::ones({3});
  auto with_frozen = p.params();
  with_frozen.push_back(frozen);
  GradientReducer reducer(with_frozen, *local);
  reducer.prepare(0.5);
  loss_of(p, 0, 0).backward();
  reducer.finish();
  const auto want = expected(p, {0.5}, 0);
  const auto params = p.params();
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].grad(), want[i], 1e-6, 1e-6)) << "param " << i;
  EXPECT_FALSE(frozen.grad().defined());
}

}  // namespace
}  // namespace vmunet

int main(int argc, char** argv) {
  vmunet::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
