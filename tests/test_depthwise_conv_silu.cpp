// SS2D's fused CPU prologue against LibTorch's own ops: SiLU(conv2d(x in channels-first, groups =
// channels, padding k / 2)), forward and every gradient, on non-square grids and from a strided
// channels-last slice, as SS2D passes it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/depthwise_conv_silu.h"
#include "tests/tolerances.h"

namespace vmunet {
namespace {

struct Case {
  int64_t B, H, W, C, k;
};

torch::Tensor reference(const torch::Tensor& x_bhwc, const torch::Tensor& w,
                        const torch::Tensor& b) {
  namespace F = torch::nn::functional;
  const auto k = w.size(2);
  return torch::silu(F::conv2d(x_bhwc.permute({0, 3, 1, 2}), w,
                               F::Conv2dFuncOptions().bias(b).padding(k / 2).groups(w.size(0))));
}

class DepthwiseConvSilu : public ::testing::TestWithParam<Case> {};

TEST_P(DepthwiseConvSilu, MatchesLibTorchForwardAndGradients) {
  const Case c = GetParam();
  for (const auto dtype : {torch::kDouble, torch::kFloat}) {
    torch::manual_seed(7);
    const auto opt = torch::TensorOptions().dtype(dtype);
    // A (B, H, W, 2C) tensor whose first half of channels is the input, like SS2D's in_proj output.
    const auto wide = torch::randn({c.B, c.H, c.W, 2 * c.C}, opt);
    const auto w0 = torch::randn({c.C, 1, c.k, c.k}, opt) * 0.5, b0 = torch::randn({c.C}, opt);
    const auto dy = torch::randn({c.B, c.C, c.H, c.W}, opt);
    auto run = [&](bool fused) {
      auto x = wide.clone().requires_grad_(true);
      auto w = w0.clone().requires_grad_(true), b = b0.clone().requires_grad_(true);
      auto slice = x.narrow(3, 0, c.C);
      auto y = fused ? depthwise_conv_silu(slice, w, b) : reference(slice, w, b);
      (y * dy).sum().backward();
      return std::vector<torch::Tensor>{y, x.grad(), w.grad(), b.grad()};
    };
    const auto got = run(true), want = run(false);
    const auto tol = test::tolerance_for(dtype);
    EXPECT_TRUE(got[0].is_contiguous());
    EXPECT_LT(test::rel_error(got[0], want[0]), dtype == torch::kDouble ? 1e-13 : 1e-6) << "y";
    const char* names[] = {"y", "dx", "dweight", "dbias"};
    for (int i = 1; i < 4; ++i)
      EXPECT_LT(test::rel_error(got[i], want[i]), dtype == torch::kDouble ? 1e-12 : tol.forward)
          << names[i] << " " << dtype;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DepthwiseConvSilu,
                         ::testing::Values(Case{2, 5, 7, 3, 3}, Case{3, 8, 8, 16, 3},
                                           Case{1, 1, 1, 2, 3}, Case{2, 6, 4, 5, 5}),
                         [](const auto& info) {
                           const Case c = info.param;
                           return "b" + std::to_string(c.B) + "h" + std::to_string(c.H) + "w" +
                                  std::to_string(c.W) + "c" + std::to_string(c.C) + "k" +
                                  std::to_string(c.k);
                         });

TEST(DepthwiseConvSilu, SameResultWhateverTheThreadCount) {
  torch::manual_seed(3);
  auto x = torch::randn({6, 9, 9, 8}).requires_grad_(true);
  auto w = torch::randn({8, 1, 3, 3}).requires_grad_(true), b = torch::randn({8});
  auto grads = [&](int threads) {
    at::set_num_threads(threads);
    x.mutable_grad() = torch::Tensor();
    w.mutable_grad() = torch::Tensor();
    auto y = depthwise_conv_silu(x, w, b);
    y.pow(2).sum().backward();
    return std::vector<torch::Tensor>{y.detach(), x.grad(), w.grad()};
  };
  const auto one = grads(1), two = grads(2);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(one[i], two[i])) << i;
}

TEST(DepthwiseConvSilu, RejectsAnEvenKernelWithAClearMessage) {
  try {
    depthwise_conv_silu(torch::randn({1, 4, 4, 2}), torch::randn({2, 1, 2, 2}), torch::randn({2}));
    FAIL() << "an even kernel was accepted";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("k odd"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vmunet
