// grouped_matmul (model/grouped_matmul.h): the product and both gradients against torch::matmul's
// broadcast, on the CPU (folded batch) and on CUDA (strided-batched GEMMs over a stride-0 weight).
#include "model/grouped_matmul.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace vmunet {
namespace {

struct Result {
  torch::Tensor y, dw, dx;
};

// y = f(w, x) and the gradients of Σ y·r for a fixed r.
template <typename F>
Result run(F f, const torch::Tensor& w0, const torch::Tensor& x0, const torch::Tensor& r) {
  auto w = w0.detach().clone().requires_grad_(true);
  auto x = x0.detach().clone().requires_grad_(true);
  auto y = f(w, x);
  (y.to(torch::kDouble) * r).sum().backward();
  return {y.detach(), w.grad(), x.grad()};
}

Result reference(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& r) {
  return run([](const torch::Tensor& a, const torch::Tensor& b) { return torch::matmul(a, b); }, w,
             x, r);
}
Result grouped(const torch::Tensor& w, const torch::Tensor& x, const torch::Tensor& r) {
  return run(grouped_matmul, w, x, r);
}

// Odd sizes everywhere; SS2D's stage-1 x_proj (two planes of 76 rows) with a length that is not
// a multiple of 4; and single elements with three groups.
struct Shape {
  int64_t B, G, M, K, L;
};
const Shape kShapes[] = {{3, 2, 5, 7, 9}, {2, 2, 76, 48, 130}, {1, 3, 1, 1, 1}};

TEST(GroupedMatmul, CpuMatchesBroadcastMatmulInDouble) {
  torch::manual_seed(3);
  for (const auto& s : kShapes) {
    const auto opt = torch::dtype(torch::kDouble);
    auto w = torch::randn({s.G, s.M, s.K}, opt), x = torch::randn({s.B, s.G, s.K, s.L}, opt);
    auto r = torch::randn({s.B, s.G, s.M, s.L}, opt);
    const auto want = reference(w, x, r), got = grouped(w, x, r);
    ASSERT_EQ(got.y.sizes(), want.y.sizes());
    EXPECT_TRUE(torch::allclose(got.y, want.y, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(got.dw, want.dw, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(got.dx, want.dx, 1e-12, 1e-12));
  }
}

TEST(GroupedMatmul, CudaMatchesDoubleReferenceAndRepeatsBitwise) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(4);
  for (const auto& s : kShapes) {
    const auto opt = torch::dtype(torch::kDouble);
    auto w = torch::randn({s.G, s.M, s.K}, opt), x = torch::randn({s.B, s.G, s.K, s.L}, opt);
    auto r = torch::randn({s.B, s.G, s.M, s.L}, opt);
    const auto want = reference(w, x, r);
    const auto cw = w.to(torch::kCUDA, torch::kFloat), cx = x.to(torch::kCUDA, torch::kFloat);
    const auto cr = r.to(torch::kCUDA);
    const auto got = grouped(cw, cx, cr), again = grouped(cw, cx, cr);
    // fp32 products of K terms (TF32 off): a few units of float32's epsilon times √K.
    const double tol = 2e-5 * std::sqrt(double(std::max(s.K, s.B * s.L)));
    EXPECT_TRUE(torch::allclose(got.y.cpu().to(torch::kDouble), want.y, tol, tol));
    EXPECT_TRUE(torch::allclose(got.dw.cpu().to(torch::kDouble), want.dw, tol, tol));
    EXPECT_TRUE(torch::allclose(got.dx.cpu().to(torch::kDouble), want.dx, tol, tol));
    EXPECT_TRUE(torch::equal(got.y, again.y));
    EXPECT_TRUE(torch::equal(got.dw, again.dw));
    EXPECT_TRUE(torch::equal(got.dx, again.dx));
  }
}

TEST(GroupedMatmul, CudaBf16InputCastsTheWeight) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(5);
  const Shape s{2, 2, 76, 48, 130};
  const auto dev = torch::dtype(torch::kFloat).device(torch::kCUDA);
  auto w = torch::randn({s.G, s.M, s.K}, dev);
  auto x = torch::randn({s.B, s.G, s.K, s.L}, dev).to(torch::kBFloat16);
  auto r = torch::randn({s.B, s.G, s.M, s.L}, dev.dtype(torch::kDouble));
  const auto got = grouped(w, x, r);
  const auto want =
      run([](const torch::Tensor& a,
             const torch::Tensor& b) { return torch::matmul(a.to(torch::kBFloat16), b); },
          w, x, r);
  EXPECT_EQ(got.y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(got.dw.scalar_type(), torch::kFloat);
  EXPECT_EQ(got.dx.scalar_type(), torch::kBFloat16);
  // Both are bf16 products; they may round differently by an ulp of bf16 (2^-8 relative).
  auto close = [](const torch::Tensor& a, const torch::Tensor& b) {
    const auto fa = a.to(torch::kFloat), fb = b.to(torch::kFloat);
    return ((fa - fb).abs().max().item<float>()) <= 2e-2f * fb.abs().max().item<float>();
  };
  EXPECT_TRUE(close(got.y, want.y));
  EXPECT_TRUE(close(got.dw, want.dw));
  EXPECT_TRUE(close(got.dx, want.dx));
}

// grouped_matmul_and_input: x's gradient is the product's input gradient plus that of the second
// output, Σ y·r + Σ x'·q, against the broadcast matmul and x used twice (in double on the CPU, in
// fp32 against double on CUDA, where the GEMM adds the two and repeats bit for bit).
Result with_input(const torch::Tensor& w0, const torch::Tensor& x0, const torch::Tensor& r,
                  const torch::Tensor& q, bool fused) {
  auto w = w0.detach().clone().requires_grad_(true);
  auto x = x0.detach().clone().requires_grad_(true);
  torch::Tensor y, passed;
  if (fused) {
    std::tie(y, passed) = grouped_matmul_and_input(w, x);
  } else {
    y = torch::matmul(w, x);
    passed = x;
  }
  ((y.to(torch::kDouble) * r).sum() + (passed.to(torch::kDouble) * q).sum()).backward();
  return {y.detach(), w.grad(), x.grad()};
}

TEST(GroupedMatmul, AndInputAddsBothGradients) {
  torch::manual_seed(6);
  const bool cuda = torch::cuda::is_available();
  for (const auto& s : kShapes) {
    const auto opt = torch::dtype(torch::kDouble);
    auto w = torch::randn({s.G, s.M, s.K}, opt), x = torch::randn({s.B, s.G, s.K, s.L}, opt);
    auto r = torch::randn({s.B, s.G, s.M, s.L}, opt), q = torch::randn({s.B, s.G, s.K, s.L}, opt);
    const auto want = with_input(w, x, r, q, false);
    const auto cpu = with_input(w, x, r, q, true);
    EXPECT_TRUE(torch::allclose(cpu.y, want.y, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(cpu.dw, want.dw, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(cpu.dx, want.dx, 1e-12, 1e-12));
    if (!cuda) continue;
    const auto cw = w.to(torch::kCUDA, torch::kFloat), cx = x.to(torch::kCUDA, torch::kFloat);
    const auto cr = r.to(torch::kCUDA), cq = q.to(torch::kCUDA);
    const auto got = with_input(cw, cx, cr, cq, true), again = with_input(cw, cx, cr, cq, true);
    const double tol = 2e-5 * std::sqrt(double(std::max(s.K, s.B * s.L)));
    EXPECT_TRUE(torch::allclose(got.y.cpu().to(torch::kDouble), want.y, tol, tol));
    EXPECT_TRUE(torch::allclose(got.dw.cpu().to(torch::kDouble), want.dw, tol, tol));
    EXPECT_TRUE(torch::allclose(got.dx.cpu().to(torch::kDouble), want.dx, tol, tol));
    EXPECT_TRUE(torch::equal(got.dx, again.dx));
  }
}

}  // namespace
}  // namespace vmunet
