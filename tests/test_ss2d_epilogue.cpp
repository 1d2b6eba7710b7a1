// The SS2D epilogue (model/ss2d_epilogue.h): the direction merge against explicit index loops on
// the CPU, and the fused CUDA operator against the LibTorch ops in float64 (forward and the four
// gradients, float32 and bfloat16, shapes that leave partial tiles, z read in place from a wider
// tensor) with a bitwise-deterministic backward. The GPU tests skip where no CUDA device is seen.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>

#include "model/ss2d_epilogue.h"
#include "tests/tolerances.h"

namespace vmunet {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

// y0 and y1 are read at h·W + w, y2 and y3 at w·H + h.
TEST(MergeDirections, MatchesIndexLoops) {
  const int64_t B = 2, D = 3, H = 4, W = 5, L = H * W;
  torch::manual_seed(1);
  const auto ys = torch::randn({B, 4, D, L}, torch::kDouble);
  const auto merged = merge_directions(ys, H, W);
  ASSERT_EQ(merged.sizes(), (std::vector<int64_t>{B, D, H, W}));
  auto y = ys.accessor<double, 4>();
  auto m = merged.accessor<double, 4>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < D; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const double want = y[b][0][c][h * W + w] + y[b][1][c][h * W + w] +
                              y[b][2][c][w * H + h] + y[b][3][c][w * H + h];
          EXPECT_NEAR(m[b][c][h][w], want, 1e-12) << b << " " << c << " " << h << " " << w;
        }
}

struct Shape {
  int64_t batch, channels, height, width;
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << s.batch << " x " << s.channels << " channels, " << s.height << " x " << s.width;
}

// Inputs in `dtype` (weight and bias float32), z a chunk of a (B, H, W, 2D) tensor as in SS2D.
struct Inputs {
  torch::Tensor ys, z, weight, bias, dout;
};

Inputs random_inputs(const Shape& s, torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  const auto cuda = torch::TensorOptions().device(torch::kCUDA);
  const auto xz = torch::randn({s.batch, s.height, s.width, 2 * s.channels}, cuda).to(dtype);
  return {torch::randn({s.batch, 4, s.channels, s.height * s.width}, cuda).to(dtype),
          xz.chunk(2, -1)[1], 1.0 + 0.5 * torch::randn({s.channels}, cuda),
          0.3 * torch::randn({s.channels}, cuda),
          torch::randn({s.batch, s.height, s.width, s.channels}, cuda).to(dtype)};
}

struct Result {
  torch::Tensor out;
  std::vector<torch::Tensor> grads;  // ys, z, weight, bias
};

// `fused`: ss2d_epilogue on the inputs as given; otherwise the LibTorch ops on float64 copies.
Result run(const Inputs& in, bool fused) {
  auto prepare = [&](const torch::Tensor& t) {
    auto leaf = fused ? t.detach() : t.detach().to(torch::kDouble);
    return leaf.requires_grad_(true);
  };
  // z keeps its strides (a view of the wider tensor) on the fused path.
  auto z_base = fused ? in.z.detach() : in.z.detach().to(torch::kDouble);
  auto ys = prepare(in.ys), z = z_base.requires_grad_(true);
  auto weight = prepare(in.weight), bias = prepare(in.bias);
  const auto out = fused ? ss2d_epilogue(ys, z, weight, bias, 1e-5)
                         : ss2d_epilogue_composed(ys, z, weight, bias, 1e-5);
  const auto dout = fused ? in.dout : in.dout.to(torch::kDouble);
  out.backward(dout);
  return {out.detach(), {ys.grad(), z.grad(), weight.grad(), bias.grad()}};
}

const char* kGradNames[] = {"ys", "z", "weight", "bias"};

class FusedEpilogue : public ::testing::TestWithParam<std::tuple<Shape, torch::ScalarType>> {};

TEST_P(FusedEpilogue, MatchesComposedOpsInDouble) {
  SKIP_WITHOUT_GPU();
  const auto [shape, dtype] = GetParam();
  const auto in = random_inputs(shape, dtype, 7 + shape.width);
  // A chunk is a strided view (LibTorch calls a single position contiguous either way).
  if (shape.height * shape.width > 1) {
    ASSERT_FALSE(in.z.is_contiguous());
  }
  const auto got = run(in, true), want = run(in, false);
  const auto tol = test::tolerance_for(dtype);
  EXPECT_EQ(got.out.scalar_type(), dtype);
  EXPECT_EQ(got.out.sizes(), in.dout.sizes());
  EXPECT_LT(test::rel_error(got.out, want.out), tol.forward) << "out";
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(got.grads[i].defined()) << kGradNames[i];
    EXPECT_LT(test::rel_error(got.grads[i], want.grads[i]), tol.gradient)
        << "grad " << kGradNames[i];
  }
}

// Partial tiles in h, w and channels; SS2D's stage shapes at a 256×256 input (192 and 1536
// channels: the widest backward shared-memory rows); a single position. The planes move in
// 16-byte runs where height and width allow: 24×40 in both dtypes (with a run past the image in
// the last tile), 12×20 in fp32 only, 6×16 in neither.
INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedEpilogue,
    ::testing::Combine(::testing::Values(Shape{2, 40, 5, 19}, Shape{3, 96, 33, 17},
                                         Shape{2, 192, 64, 64}, Shape{4, 1536, 8, 8},
                                         Shape{1, 8, 1, 1}, Shape{2, 48, 24, 40},
                                         Shape{2, 24, 12, 20}, Shape{1, 16, 6, 16}),
                       ::testing::Values(torch::kFloat, torch::kBFloat16)));

TEST(FusedEpilogue, BackwardIsBitwiseDeterministic) {
  SKIP_WITHOUT_GPU();
  const auto in = random_inputs({8, 192, 64, 64}, torch::kFloat, 3);
  const auto first = run(in, true), second = run(in, true);
  EXPECT_TRUE(torch::equal(first.out, second.out));
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(torch::equal(first.grads[i], second.grads[i])) << kGradNames[i];
}

}  // namespace
}  // namespace vmunet
