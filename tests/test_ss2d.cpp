// SS2D's four scan directions against a reference that builds each direction's sequence and puts
// its outputs back with explicit index loops, on non-square grids: an H/W mix-up fails here; and
// the residual added inside out_proj's GEMM against the plain sum.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/selective_scan.h"
#include "model/ss2d.h"
#include "tests/tolerances.h"

namespace vmunet {
namespace {

// Grid position (h, w) visited at step l of direction k over an H×W grid.
std::pair<int64_t, int64_t> position(int k, int64_t l, int64_t H, int64_t W) {
  const int64_t L = H * W;
  const int64_t m = k >= 2 ? L - 1 - l : l;
  if (k % 2 == 0) return {m / W, m % W};  // row-major
  return {m % H, m / H};                  // column-major
}

torch::Tensor reference_scan_2d(SS2DImpl& m, const torch::Tensor& x) {
  const int64_t B = x.size(0), D = x.size(1), H = x.size(2), W = x.size(3), L = H * W;
  const int64_t R = m.dt_rank, N = m.d_state;
  auto out = torch::zeros_like(x);
  for (int k = 0; k < 4; ++k) {
    auto seq = torch::empty({B, D, L});
    for (int64_t l = 0; l < L; ++l) {
      auto [h, w] = position(k, l, H, W);
      seq.select(2, l).copy_(x.select(3, w).select(2, h));
    }
    auto dbl = torch::matmul(m.x_proj_weight[k], seq);  // (B, R + 2N, L)
    auto dts = torch::matmul(m.dt_projs_weight[k], dbl.narrow(1, 0, R));
    auto Bk = dbl.narrow(1, R, N).unsqueeze(1).contiguous();
    auto Ck = dbl.narrow(1, R + N, N).unsqueeze(1).contiguous();
    auto A = -torch::exp(m.A_logs.narrow(0, k * D, D));
    auto y =
        selective_scan_forward(seq, dts, A, Bk, Ck, m.Ds.narrow(0, k * D, D), m.dt_projs_bias[k]);
    for (int64_t l = 0; l < L; ++l) {
      auto [h, w] = position(k, l, H, W);
      auto dst = out.select(3, w).select(2, h);
      dst.add_(y.select(2, l));
    }
  }
  return out;
}

class SS2DGrid : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(SS2DGrid, ScanOrdersMatchExplicitIndexLoops) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(11);
  auto [H, W] = GetParam();
  SS2D m(8, 4);
  auto x = torch::randn({2, m->d_inner, H, W});
  auto ref = reference_scan_2d(*m, x);
  EXPECT_LT(test::rel_error(m->scan_2d(x), ref), test::tolerance_for(torch::kFloat).forward);
}

INSTANTIATE_TEST_SUITE_P(NonSquare, SS2DGrid,
                         ::testing::Values(std::make_pair(int64_t{64}, int64_t{96}),
                                           std::make_pair(int64_t{5}, int64_t{3}),
                                           std::make_pair(int64_t{1}, int64_t{7})));

TEST(SS2D, ShapesAndParameterLayout) {
  SS2D m(96, 16);
  EXPECT_EQ(m->d_inner, 192);
  EXPECT_EQ(m->dt_rank, 6);
  EXPECT_EQ(m->x_proj_weight.sizes(), torch::IntArrayRef({4, 6 + 32, 192}));
  EXPECT_EQ(m->dt_projs_weight.sizes(), torch::IntArrayRef({4, 192, 6}));
  EXPECT_EQ(m->A_logs.sizes(), torch::IntArrayRef({4 * 192, 16}));
  // A_logs = log(1..N) for every channel; Ds = 1.
  EXPECT_TRUE(torch::allclose(m->A_logs[5], torch::log(torch::arange(1, 17, torch::kFloat))));
  EXPECT_TRUE(torch::equal(m->Ds, torch::ones({4 * 192})));
  // Δ bias is softplus⁻¹ of dt in [1e-3, 1e-1].
  auto dt = torch::nn::functional::softplus(m->dt_projs_bias);
  EXPECT_GE(dt.min().item<float>(), 1e-3f * 0.999f);
  EXPECT_LE(dt.max().item<float>(), 1e-1f * 1.001f);
  auto y = m->forward(torch::randn({1, 6, 10, 96}));
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({1, 6, 10, 96}));
}

// forward_plus adds the residual inside out_proj's GEMM: the same sum as residual + forward, and
// the same gradients for x, the residual and out_proj's weight (float64, so that only the order
// of the additions can differ).
TEST(SS2D, ForwardPlusIsTheResidualPlusForward) {
  torch::manual_seed(4);
  SS2D m(8, 4);
  m->to(torch::kDouble);
  const auto x0 = torch::randn({2, 5, 3, 8}, torch::kDouble);
  const auto r0 = torch::randn({2, 5, 3, 8}, torch::kDouble);
  const auto dout = torch::randn({2, 5, 3, 8}, torch::kDouble);
  std::vector<torch::Tensor> out, grads;
  for (const bool plus : {true, false}) {
    auto x = x0.clone().requires_grad_(true), r = r0.clone().requires_grad_(true);
    m->zero_grad();
    const auto y = plus ? m->forward_plus(x, r) : r + m->forward(x);
    y.backward(dout);
    out.push_back(y.detach());
    grads.insert(grads.end(), {x.grad(), r.grad(), m->out_proj->weight.grad().clone()});
  }
  EXPECT_LT(test::rel_error(out[0], out[1]), 1e-13);
  for (int i = 0; i < 3; ++i) EXPECT_LT(test::rel_error(grads[i], grads[i + 3]), 1e-13) << i;
}

}  // namespace
}  // namespace vmunet
