// ss2d_direction_params (model/ss2d_direction_params.h): SS2D's per-direction parameters in the
// scan's group order, by hand on the CPU; on CUDA the one-kernel path against LibTorch's
// operations, forward and backward.
#include "model/ss2d_direction_params.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace vmunet {
namespace {

TEST(Ss2dDirectionParams, GroupOrderIsDirectionsZeroTwoOneThree) {
  // Row k of every tensor holds 10·k + its position, so each output row names its direction.
  const int64_t D = 3, N = 2, R = 2;
  auto by_k = [](std::vector<int64_t> sizes) {
    const int64_t per = torch::ones(sizes).numel() / 4;
    return (torch::arange(4, torch::kFloat).view({4, 1}) * 10 +
            torch::arange(per, torch::kFloat).view({1, per}))
        .view(sizes);
  };
  const auto A_logs = by_k({4 * D, N}), dt_w = by_k({4, D, R}), Ds = by_k({4 * D}),
             bias = by_k({4, D});
  const auto p = ss2d_direction_params(A_logs, dt_w, Ds, bias);
  const int64_t k_of_group[] = {0, 2, 1, 3};
  for (int64_t g = 0; g < 4; ++g) {
    const int64_t k = k_of_group[g];
    EXPECT_TRUE(torch::equal(p.dt_w[g], dt_w[k]));
    EXPECT_TRUE(torch::equal(p.D.view({4, D})[g], Ds.view({4, D})[k]));
    EXPECT_TRUE(torch::equal(p.delta_bias.view({4, D})[g], bias[k]));
    EXPECT_TRUE(torch::equal(p.A.view({4, D, N})[g], -torch::exp(A_logs.view({4, D, N})[k])));
  }
  EXPECT_TRUE(torch::equal(directions_by_group(torch::arange(4)), torch::tensor({0, 2, 1, 3})));
}

struct Grads {
  ScanDirectionParams out;
  std::vector<torch::Tensor> grad;
};

// The parameters and the gradients of Σ output·r (r fixed per output) for inputs on `device`.
Grads run(const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& r,
          torch::Device device) {
  std::vector<torch::Tensor> leaves;
  for (const auto& t : inputs) leaves.push_back(t.detach().clone().to(device).requires_grad_(true));
  auto p = ss2d_direction_params(leaves[0], leaves[1], leaves[2], leaves[3]);
  const torch::Tensor outs[] = {p.A, p.dt_w, p.D, p.delta_bias};
  auto loss = torch::zeros({}, torch::dtype(torch::kFloat).device(device));
  for (int t = 0; t < 4; ++t) loss = loss + (outs[t] * r[t].to(device)).sum();
  loss.backward();
  Grads g{
      {p.A.detach().cpu(), p.dt_w.detach().cpu(), p.D.detach().cpu(), p.delta_bias.detach().cpu()},
      {}};
  for (auto& l : leaves) g.grad.push_back(l.grad().cpu());
  return g;
}

TEST(Ss2dDirectionParams, CudaKernelMatchesLibTorchOperations) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(6);
  for (const auto& [D, N, R] : {std::tuple<int64_t, int64_t, int64_t>{192, 16, 6}, {5, 3, 1}}) {
    const std::vector<torch::Tensor> inputs = {torch::randn({4 * D, N}), torch::randn({4, D, R}),
                                               torch::randn({4 * D}), torch::randn({4, D})};
    const std::vector<torch::Tensor> r = {torch::randn({4 * D, N}), torch::randn({4, D, R}),
                                          torch::randn({4 * D}), torch::randn({4 * D})};
    const auto want = run(inputs, r, torch::kCPU), got = run(inputs, r, torch::kCUDA);
    EXPECT_TRUE(torch::allclose(got.out.A, want.out.A, 1e-6, 0));
    EXPECT_TRUE(torch::equal(got.out.dt_w, want.out.dt_w));
    EXPECT_TRUE(torch::equal(got.out.D, want.out.D));
    EXPECT_TRUE(torch::equal(got.out.delta_bias, want.out.delta_bias));
    EXPECT_TRUE(torch::allclose(got.grad[0], want.grad[0], 1e-6, 0));
    for (int t = 1; t < 4; ++t) EXPECT_TRUE(torch::equal(got.grad[t], want.grad[t])) << t;
  }
}

}  // namespace
}  // namespace vmunet
