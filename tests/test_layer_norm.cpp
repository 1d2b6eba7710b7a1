// The fused LayerNorm (model/layer_norm.h), plain and gated, on CUDA and on the CPU, against
// LibTorch's ops in float64: forward and every gradient, rows of 8 to 1536 channels, inputs that
// are permuted views (as in the patch embedding), gates that are chunks of a wider tensor,
// float32 and (CUDA) bfloat16 inputs; PatchExpand's tokens written onto their grid; and a
// bitwise-deterministic backward. The CUDA tests skip where no CUDA device is visible.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>

#include "model/layer_norm.h"
#include "tests/tolerances.h"

namespace vmunet {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

struct Case {
  int64_t rows, channels;
  bool gated;
  torch::ScalarType dtype;  // of x and z
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << c.rows << " rows x " << c.channels << (c.gated ? " gated " : " plain ") << c.dtype;
}

struct Result {
  torch::Tensor out;
  std::vector<torch::Tensor> grads;  // x, weight, bias, then z where gated
};

// `fused`: the operator on `device` (the plain one through a LayerNorm module, as the network
// calls it); otherwise LibTorch's ops on float64 copies of the same values.
Result run(const Case& c, bool fused, torch::Device device = torch::kCUDA) {
  torch::manual_seed(c.rows + c.channels);
  const auto cuda = torch::TensorOptions().device(device);
  const auto x0 = (torch::randn({2, c.channels, c.rows}, cuda) * 2 + 0.5).to(c.dtype);
  const auto z0 = torch::randn({2, c.rows, 2 * c.channels}, cuda).to(c.dtype);
  const auto dout = torch::randn({2, c.rows, c.channels}, cuda);

  auto norm = torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.channels}).eps(1e-5));
  norm->to(device);
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(1.0 + 0.5 * torch::randn({c.channels}, cuda));
    norm->bias.copy_(0.3 * torch::randn({c.channels}, cuda));
  }
  auto leaf = [&](const torch::Tensor& t) {
    return (fused ? t.detach().clone() : t.detach().to(torch::kDouble)).requires_grad_(true);
  };
  auto x = leaf(x0), zfull = leaf(z0);
  auto weight = fused ? norm->weight : leaf(norm->weight);
  auto bias = fused ? norm->bias : leaf(norm->bias);
  const auto xv = x.permute({0, 2, 1});  // (2, rows, channels), channels strided
  const auto z = zfull.chunk(2, -1)[1];  // rows 2·channels apart
  torch::Tensor out;
  if (!fused)
    out = layer_norm_composed(xv, c.gated ? z : torch::Tensor(), weight, bias, 1e-5);
  else if (c.gated)
    out = layer_norm_gate(xv, z, weight, bias, 1e-5);
  else
    out = layer_norm(xv, norm);
  out.backward(fused ? dout.to(out.scalar_type()) : dout.to(torch::kDouble));
  Result r{out.detach(), {x.grad(), weight.grad(), bias.grad()}};
  if (c.gated) r.grads.push_back(zfull.grad());
  return r;
}

const char* kNames[] = {"x", "weight", "bias", "z"};

void expect_matches_libtorch(const Case& c, torch::Device device) {
  const auto got = run(c, true, device), want = run(c, false, device);
  EXPECT_EQ(got.out.scalar_type(), c.gated ? c.dtype : torch::kFloat);
  const auto tol = test::tolerance_for(c.dtype);
  EXPECT_LT(test::rel_error(got.out, want.out), tol.forward) << "out";
  ASSERT_EQ(got.grads.size(), want.grads.size());
  for (size_t i = 0; i < got.grads.size(); ++i) {
    ASSERT_TRUE(got.grads[i].defined()) << kNames[i];
    EXPECT_EQ(got.grads[i].scalar_type(), i == 0 || i == 3 ? c.dtype : torch::kFloat) << kNames[i];
    EXPECT_LT(test::rel_error(got.grads[i], want.grads[i]), tol.gradient) << "grad " << kNames[i];
  }
}

class CudaLayerNorm : public ::testing::TestWithParam<Case> {};

TEST_P(CudaLayerNorm, MatchesLibTorchInDouble) {
  SKIP_WITHOUT_GPU();
  expect_matches_libtorch(GetParam(), torch::kCUDA);
}

// The network's widths (96 to 1536: one warp walks each row), an odd width, a single row, more
// rows than the backward has blocks (their sums run in several rounds), and each width of rows
// kept in registers (up to 128, 256, 512, 768) at its edges, next to the narrowest read again
// (769); the forward keeps rows of up to 1536 too (1100, 1536; 1537 is read again).
// Rows of at most 32 channels share warps, four to one: the final projection's 24 with a last
// block only partly filled, the narrow kernels' widest row (32) and the next (33), an odd narrow
// width.
INSTANTIATE_TEST_SUITE_P(
    Cases, CudaLayerNorm,
    ::testing::Values(Case{4096, 96, false, torch::kFloat}, Case{300, 40, false, torch::kFloat},
                      Case{1, 8, false, torch::kFloat}, Case{64, 1536, false, torch::kFloat},
                      Case{4096, 96, false, torch::kBFloat16}, Case{4096, 192, true, torch::kFloat},
                      Case{70000, 24, true, torch::kFloat}, Case{64, 1536, true, torch::kBFloat16},
                      Case{333, 40, true, torch::kBFloat16}, Case{500, 256, true, torch::kFloat},
                      Case{500, 257, false, torch::kFloat}, Case{300, 512, true, torch::kBFloat16},
                      Case{300, 513, true, torch::kFloat}, Case{300, 768, true, torch::kBFloat16},
                      Case{300, 769, false, torch::kFloat}, Case{70001, 24, false, torch::kFloat},
                      Case{1000, 32, false, torch::kBFloat16}, Case{1000, 33, true, torch::kFloat},
                      Case{77, 5, true, torch::kBFloat16}, Case{300, 1537, true, torch::kFloat},
                      Case{200, 1100, false, torch::kBFloat16}));

class CpuLayerNorm : public ::testing::TestWithParam<Case> {};

TEST_P(CpuLayerNorm, MatchesLibTorchInDouble) { expect_matches_libtorch(GetParam(), torch::kCPU); }

// The quickstart's widths (16 to 256, and 24 for a gate) and the same edge cases as on CUDA; more
// rows than one block of the weight sums.
INSTANTIATE_TEST_SUITE_P(
    Cases, CpuLayerNorm,
    ::testing::Values(Case{4096, 16, false, torch::kFloat}, Case{300, 40, false, torch::kFloat},
                      Case{1, 8, false, torch::kFloat}, Case{64, 256, false, torch::kFloat},
                      Case{4096, 96, true, torch::kFloat}, Case{333, 40, true, torch::kFloat}));

TEST(CpuLayerNorm, SameResultOnOneAndTwoThreads) {
  for (const Case& c :
       {Case{2000, 32, false, torch::kFloat}, Case{2000, 32, true, torch::kFloat}}) {
    at::set_num_threads(1);
    const auto one = run(c, true, torch::kCPU);
    at::set_num_threads(2);
    const auto two = run(c, true, torch::kCPU);
    EXPECT_TRUE(torch::equal(one.out, two.out)) << c;
    for (size_t i = 0; i < one.grads.size(); ++i)
      EXPECT_TRUE(torch::equal(one.grads[i], two.grads[i])) << c << " " << kNames[i];
  }
}

// PatchExpand's tokens (B, H, W, s, s, C) normalised onto their grid (B, H·s, W·s, C): against
// LibTorch's ops in float64, and bit for bit against the fused LayerNorm of the tokens followed by
// the permuting copy (each row's arithmetic is the same wherever it is written) for the output
// and x's gradient; weight and bias sum their rows in another order.
void expect_grid_matches(torch::Device device) {
  for (const auto& [C, s] :
       std::vector<std::pair<int64_t, int64_t>>{{24, 4}, {96, 2}, {200, 2}, {800, 2}}) {
    torch::manual_seed(C);
    const auto opts = torch::TensorOptions().device(device);
    const auto tokens0 = torch::randn({2, 3, 5, s, s, C}, opts) * 2 + 0.5;
    const auto dout = torch::randn({2, 3 * s, 5 * s, C}, opts);
    auto norm = torch::nn::LayerNorm(torch::nn::LayerNormOptions({C}).eps(1e-5));
    norm->to(device);
    {
      torch::NoGradGuard no_grad;
      norm->weight.copy_(1.0 + 0.5 * torch::randn({C}, opts));
      norm->bias.copy_(0.3 * torch::randn({C}, opts));
    }
    auto on_grid = [&](const torch::Tensor& t) {
      return t.permute({0, 1, 3, 2, 4, 5}).reshape({2, 3 * s, 5 * s, C});
    };
    const auto tokens = tokens0.clone().requires_grad_(true);
    const auto out = layer_norm_to_grid(tokens, norm);
    const auto got = torch::autograd::grad({out}, {tokens, norm->weight, norm->bias}, {dout});

    const auto tokens_b = tokens0.clone().requires_grad_(true);
    const auto out_b = on_grid(layer_norm(tokens_b, norm));
    const auto dx_b = torch::autograd::grad({out_b}, {tokens_b}, {dout})[0];
    EXPECT_TRUE(torch::equal(out, out_b)) << C;
    EXPECT_TRUE(torch::equal(got[0], dx_b)) << C;

    const auto td = tokens0.to(torch::kDouble).requires_grad_(true);
    const auto wd = norm->weight.detach().to(torch::kDouble).requires_grad_(true);
    const auto bd = norm->bias.detach().to(torch::kDouble).requires_grad_(true);
    const auto ref = on_grid(layer_norm_composed(td, torch::Tensor(), wd, bd, 1e-5));
    const auto want = torch::autograd::grad({ref}, {td, wd, bd}, {dout.to(torch::kDouble)});
    const auto tol = test::tolerance_for(torch::kFloat);
    EXPECT_LT(test::rel_error(out, ref), tol.forward) << C;
    for (size_t i = 0; i < 3; ++i)
      EXPECT_LT(test::rel_error(got[i], want[i]), tol.gradient) << C << " " << kNames[i];
  }
}

TEST(CudaLayerNorm, TokensOntoTheirGrid) {
  SKIP_WITHOUT_GPU();
  expect_grid_matches(torch::kCUDA);
}

TEST(CpuLayerNorm, TokensOntoTheirGrid) { expect_grid_matches(torch::kCPU); }

TEST(CudaLayerNorm, BackwardIsBitwiseDeterministic) {
  SKIP_WITHOUT_GPU();
  for (const Case& c : {Case{20000, 96, false, torch::kFloat}, Case{20000, 96, true, torch::kFloat},
                        Case{20001, 24, false, torch::kFloat}}) {
    const auto first = run(c, true), second = run(c, true);
    EXPECT_TRUE(torch::equal(first.out, second.out)) << c;
    for (size_t i = 0; i < first.grads.size(); ++i)
      EXPECT_TRUE(torch::equal(first.grads[i], second.grads[i])) << c << " " << kNames[i];
  }
}

}  // namespace
}  // namespace vmunet
