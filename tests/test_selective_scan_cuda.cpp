// The CUDA selective scan against the CPU kernel and the official kernel's outputs
// (tests/fixtures/selective-scan.safetensors): forward and all seven gradients, on odd lengths,
// groups narrower and wider than a block, sequences split into chunks, and bfloat16 inputs
// (tolerances: tests/tolerances.h); and a bitwise-deterministic backward. Every test skips where
// no CUDA device is visible.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <iostream>
#include <string>

#include "model/safetensors.h"
#include "model/selective_scan.h"
#include "tests/scan_order_reference.h"
#include "tests/tolerances.h"
#ifdef VMUNET_CUDA
#include "model/selective_scan_cuda.h"
#endif

namespace vmunet {
namespace {

#define SKIP_WITHOUT_GPU() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device"

const char* kNames[] = {"u", "delta", "A", "B", "C", "D", "delta_bias"};

struct Shape {
  int64_t batch, groups, per_group, L, N;
};

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  return os << "batch " << s.batch << ", groups " << s.groups << " x " << s.per_group
            << " channels, L " << s.L << ", N " << s.N;
}

// CPU float32 inputs u, delta, A, B, C, D, delta_bias, in the ranges the network produces.
std::vector<torch::Tensor> random_inputs(const Shape& s, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t Ch = s.groups * s.per_group;
  return {torch::randn({s.batch, Ch, s.L}),
          torch::randn({s.batch, Ch, s.L}) * 0.5 - 1.0,
          -torch::exp(torch::randn({Ch, s.N}) * 0.5),
          torch::randn({s.batch, s.groups, s.N, s.L}),
          torch::randn({s.batch, s.groups, s.N, s.L}),
          torch::randn({Ch}),
          torch::randn({Ch}) * 0.3};
}

std::vector<torch::Tensor> to_cuda(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> out;
  for (const auto& t : ts) out.push_back(t.to(torch::kCUDA));
  return out;
}

// u, delta, B, C in `dtype` (A, D, delta_bias stay float32, as the network keeps them).
std::vector<torch::Tensor> with_dtype(std::vector<torch::Tensor> in, torch::ScalarType dtype) {
  for (int i : {0, 1, 3, 4}) in[i] = in[i].to(dtype);
  return in;
}

torch::Tensor forward(const std::vector<torch::Tensor>& x) {
  return selective_scan_forward(x[0], x[1], x[2], x[3], x[4], x[5], x[6]);
}
std::vector<torch::Tensor> backward(const std::vector<torch::Tensor>& x, const torch::Tensor& dy) {
  return selective_scan_backward(x[0], x[1], x[2], x[3], x[4], x[5], x[6], dy);
}

// GPU forward and gradients in `dtype` against the CPU kernel in float32 on the same (rounded)
// inputs: the only differences left are summation order and the outputs' own rounding.
void expect_matches_cpu(const Shape& s, torch::ScalarType dtype, uint64_t seed) {
  const auto in = with_dtype(random_inputs(s, seed), dtype);
  const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L}).to(dtype);
  std::vector<torch::Tensor> in_cpu;
  for (const auto& t : in) in_cpu.push_back(t.to(torch::kFloat));
  const auto tol = test::tolerance_for(dtype);

  const auto gpu_in = to_cuda(in);
  const auto y = forward(gpu_in);
  ASSERT_TRUE(y.is_cuda());
  EXPECT_EQ(y.scalar_type(), dtype);
  EXPECT_LT(test::rel_error(y.cpu(), forward(in_cpu)), tol.forward) << "y";

  const auto grads = backward(gpu_in, dy.to(torch::kCUDA));
  const auto ref = backward(in_cpu, dy.to(torch::kFloat));
  ASSERT_EQ(grads.size(), 7u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_EQ(grads[i].sizes(), in[i].sizes()) << kNames[i];
    EXPECT_TRUE(torch::isfinite(grads[i]).all().item<bool>()) << kNames[i];
    EXPECT_LT(test::rel_error(grads[i].cpu(), ref[i]), tol.gradient) << "grad " << kNames[i];
  }
}

class CudaScanVsCpu : public ::testing::TestWithParam<Shape> {};

TEST_P(CudaScanVsCpu, Float32) {
  SKIP_WITHOUT_GPU();
  expect_matches_cpu(GetParam(), torch::kFloat, 11 + GetParam().L);
}

TEST_P(CudaScanVsCpu, BFloat16) {
  SKIP_WITHOUT_GPU();
  expect_matches_cpu(GetParam(), torch::kBFloat16, 23 + GetParam().L);
}

// Odd lengths (1, 7, 63, 1000, 4097); fewer states than 16; groups of 1..40 channels (one
// warp holds 16); 300 and 200 channels per group (two blocks per group, summed by a second
// kernel); few (batch, group) pairs on long sequences (split into chunks).
INSTANTIATE_TEST_SUITE_P(Shapes, CudaScanVsCpu,
                         ::testing::Values(Shape{1, 1, 1, 1, 16}, Shape{2, 4, 3, 7, 16},
                                           Shape{1, 2, 8, 63, 4}, Shape{3, 4, 32, 100, 16},
                                           Shape{2, 4, 8, 1000, 16}, Shape{1, 1, 40, 4097, 16},
                                           Shape{2, 2, 300, 257, 16}, Shape{1, 4, 200, 2048, 16},
                                           Shape{8, 4, 192, 512, 16}));

#ifdef VMUNET_CUDA
// Any number of chunks along the sequence gives the same result as the CPU kernel.
class CudaScanChunks : public ::testing::TestWithParam<int> {};

TEST_P(CudaScanChunks, MatchCpu) {
  SKIP_WITHOUT_GPU();
  const Shape s{2, 4, 24, 1500, 16};
  const auto in = random_inputs(s, 5);
  const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L});
  const auto g = to_cuda(in);
  const int chunks = GetParam();
  const auto tol = test::tolerance_for(torch::kFloat);
  const auto y = selective_scan_fwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], {}, chunks);
  EXPECT_LT(test::rel_error(y.cpu(), forward(in)), tol.forward) << "y";
  const auto grads =
      selective_scan_bwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], dy.cuda(), {}, chunks);
  const auto ref = backward(in, dy);
  for (int i = 0; i < 7; ++i)
    EXPECT_LT(test::rel_error(grads[i].cpu(), ref[i]), tol.gradient) << "grad " << kNames[i];
}

INSTANTIATE_TEST_SUITE_P(Counts, CudaScanChunks, ::testing::Values(1, 2, 3, 7, 47));

// SS2D's order (pairs of groups share u, odd groups run backwards) on the GPU, in one block per
// group and split into chunks, fp32 and bf16, against the CPU kernel on materialised copies.
class CudaScanOrder : public ::testing::TestWithParam<std::tuple<int, torch::ScalarType>> {};

TEST_P(CudaScanOrder, MatchesCpuOnCopies) {
  SKIP_WITHOUT_GPU();
  const auto [chunks, dtype] = GetParam();
  const ScanOrder order{2, 0b1010u};
  const Shape s{2, 4, 24, 1003, 16};
  auto in = with_dtype(random_inputs(s, 9), dtype);
  in[0] = torch::randn({s.batch, 2 * s.per_group, s.L}).to(dtype);
  const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L}).to(dtype);
  std::vector<torch::Tensor> in_cpu;
  for (const auto& t : in) in_cpu.push_back(t.to(torch::kFloat));
  const auto ref = test::materialised_scan(in_cpu, dy.to(torch::kFloat), order);
  const auto tol = test::tolerance_for(dtype);
  const auto g = to_cuda(in);
  const auto y = selective_scan_fwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], order, chunks);
  EXPECT_LT(test::rel_error(y.cpu(), ref.y), tol.forward) << "y";
  // The raw entry point gives du one row per channel: add each pair here.
  auto grads =
      selective_scan_bwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], dy.cuda(), order, chunks);
  grads[0] = grads[0].view({s.batch, 2, 2, s.per_group, s.L}).sum(2).view(in[0].sizes());
  for (int i = 0; i < 7; ++i) {
    const auto got = grads[i].cpu();
    EXPECT_LT(test::rel_error(got, ref.grads[i]), tol.gradient) << "grad " << kNames[i];
  }
}

INSTANTIATE_TEST_SUITE_P(ChunksAndDtypes, CudaScanOrder,
                         ::testing::Combine(::testing::Values(0, 3),
                                            ::testing::Values(torch::kFloat, torch::kBFloat16)));

// The backward from the forward's kept tile states gives the gradients of the backward that
// recomputes them, in SS2D's order, in one chunk and in several, fp32 and bf16; the forward's y
// does not change for keeping them.
class CudaScanKeptStates : public ::testing::TestWithParam<std::tuple<int, torch::ScalarType>> {};

TEST_P(CudaScanKeptStates, SameGradientsAsRecomputing) {
  SKIP_WITHOUT_GPU();
  const auto [chunks, dtype] = GetParam();
  const ScanOrder order{2, 0b1010u};
  const Shape s{2, 4, 40, 1003, 16};
  auto in = with_dtype(random_inputs(s, 13), dtype);
  in[0] = torch::randn({s.batch, 2 * s.per_group, s.L}).to(dtype);
  const auto g = to_cuda(in);
  const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L}).to(dtype).cuda();
  torch::Tensor kept;
  const auto y_kept =
      selective_scan_fwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], order, chunks, &kept);
  ASSERT_TRUE(kept.defined());
  EXPECT_EQ(kept.numel(), s.batch * ((s.L + 31) / 32) * 16 * s.groups * s.per_group);
  const auto y = selective_scan_fwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], order, chunks);
  EXPECT_TRUE(torch::equal(y_kept, y));
  const auto from_kept =
      selective_scan_bwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], dy, order, chunks, kept);
  const auto recomputed =
      selective_scan_bwd_cuda(g[0], g[1], g[2], g[3], g[4], g[5], g[6], dy, order, chunks);
  for (int i = 0; i < 7; ++i)
    EXPECT_LT(test::rel_error(from_kept[i], recomputed[i]), 1e-6) << "grad " << kNames[i];
}

INSTANTIATE_TEST_SUITE_P(ChunksAndDtypes, CudaScanKeptStates,
                         ::testing::Combine(::testing::Values(0, 5),
                                            ::testing::Values(torch::kFloat, torch::kBFloat16)));

// Δ projected inside the kernels (selective_scan_dt_forward / _backward, SS2D's order) against the
// CPU kernels on the same rounded inputs: y and the eight gradients, from kept tile states and
// recomputing them, fp32 and bf16; ranks 3 to 48 (SS2D's dt_rank at C = 96 .. 768), sequences the
// plan splits into chunks, groups over two blocks.
struct DtShape {
  Shape s;
  int64_t rank;
};

std::ostream& operator<<(std::ostream& os, const DtShape& d) {
  return os << d.s << ", rank " << d.rank;
}

class CudaScanDt : public ::testing::TestWithParam<std::tuple<DtShape, torch::ScalarType>> {};

TEST_P(CudaScanDt, MatchesCpu) {
  SKIP_WITHOUT_GPU();
  const auto [shape, dtype] = GetParam();
  const Shape& s = shape.s;
  const ScanOrder order{2, 0b1010u};
  torch::manual_seed(17 + shape.rank);
  const auto base = random_inputs(s, 21 + s.L);
  // u, dt_in, dt_w, A, B, C, D, delta_bias; Δ = dt_w·dt_in lands near the network's range.
  std::vector<torch::Tensor> in = {
      torch::randn({s.batch, 2 * s.per_group, s.L}).to(dtype),
      torch::randn({s.batch, s.groups, shape.rank, s.L}).to(dtype),
      torch::randn({s.groups, s.per_group, shape.rank}) / std::sqrt(double(shape.rank)),
      base[2],
      base[3].to(dtype),
      base[4].to(dtype),
      base[5],
      base[6]};
  const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L}).to(dtype);
  std::vector<torch::Tensor> in_cpu;
  for (const auto& t : in) in_cpu.push_back(t.to(torch::kFloat));
  auto g = to_cuda(in);
  const auto tol = test::tolerance_for(dtype);
  const char* names[] = {"u", "dt_in", "dt_w", "A", "B", "C", "D", "delta_bias"};

  torch::Tensor kept;
  const auto y =
      selective_scan_dt_forward(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], order, &kept);
  const auto y_ref = selective_scan_dt_forward(in_cpu[0], in_cpu[1], in_cpu[2], in_cpu[3],
                                               in_cpu[4], in_cpu[5], in_cpu[6], in_cpu[7], order);
  EXPECT_EQ(y.scalar_type(), dtype);
  EXPECT_LT(test::rel_error(y.cpu(), y_ref), tol.forward) << "y";
  const auto ref =
      selective_scan_dt_backward(in_cpu[0], in_cpu[1], in_cpu[2], in_cpu[3], in_cpu[4], in_cpu[5],
                                 in_cpu[6], in_cpu[7], dy.to(torch::kFloat), order);
  for (const bool from_kept : {true, false}) {
    const auto grads =
        selective_scan_dt_backward(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], dy.cuda(), order,
                                   from_kept ? kept : torch::Tensor());
    ASSERT_EQ(grads.size(), 8u);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(grads[i].sizes(), in[i].sizes()) << names[i];
      EXPECT_LT(test::rel_error(grads[i].cpu().to(torch::kFloat), ref[i]), tol.gradient)
          << "grad " << names[i] << (from_kept ? ", kept states" : ", recomputed states");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaScanDt,
                         ::testing::Combine(::testing::Values(DtShape{{1, 4, 8, 7, 4}, 3},
                                                              DtShape{{2, 4, 24, 1003, 16}, 6},
                                                              DtShape{{8, 4, 192, 512, 16}, 6},
                                                              DtShape{{2, 4, 300, 257, 16}, 48}),
                                            ::testing::Values(torch::kFloat, torch::kBFloat16)));

// SS2D hands the scan dt_in, B and C as slices of x_proj's output, which the kernels read in
// place: the same results as from contiguous copies, bitwise wherever the scan kernels alone form
// them (d_dt_w is LibTorch's product with dt_in, which may take another GEMM for the slice).
TEST(CudaScanDt, SlicesOfOneBufferMatchContiguousCopies) {
  SKIP_WITHOUT_GPU();
  const Shape s{3, 4, 24, 301, 16};
  const int64_t rank = 6;
  const ScanOrder order{2, 0b1010u};
  for (const auto dtype : {torch::kFloat, torch::kBFloat16}) {
    const auto base = to_cuda(random_inputs(s, 43));
    const auto x = torch::randn({s.batch, s.groups, rank + 2 * s.N, s.L}).to(dtype).cuda();
    const auto parts = x.split_with_sizes({rank, s.N, s.N}, 2);
    const auto u = torch::randn({s.batch, 2 * s.per_group, s.L}).to(dtype).cuda();
    const auto dt_w =
        (torch::randn({s.groups, s.per_group, rank}) / std::sqrt(double(rank))).cuda();
    const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L}).to(dtype).cuda();
    // y, then the gradients of u, dt_in, dt_w, A, B, C, D, delta_bias.
    auto run = [&](const torch::Tensor& dt_in, const torch::Tensor& B, const torch::Tensor& C) {
      torch::Tensor kept;
      const auto y =
          selective_scan_dt_forward(u, dt_in, dt_w, base[2], B, C, base[5], base[6], order, &kept);
      auto out = selective_scan_dt_backward(u, dt_in, dt_w, base[2], B, C, base[5], base[6], dy,
                                            order, kept);
      out.insert(out.begin(), y);
      return out;
    };
    const auto sliced = run(parts[0], parts[1], parts[2]);
    const auto copied = run(parts[0].contiguous(), parts[1].contiguous(), parts[2].contiguous());
    ASSERT_EQ(sliced.size(), 9u);
    for (size_t i = 0; i < sliced.size(); ++i) {
      if (i == 3)
        EXPECT_LT(test::rel_error(sliced[i].cpu(), copied[i].cpu()), 1e-6) << "d_dt_w, " << dtype;
      else
        EXPECT_TRUE(torch::equal(sliced[i], copied[i])) << "output " << i << ", " << dtype;
    }
  }
}

#endif

TEST(CudaScan, MatchesOfficialKernelFixture) {
  SKIP_WITHOUT_GPU();
  const auto file = read_safetensors(std::string(VMUNET_FIXTURES) + "/selective-scan.safetensors");
  auto t = [&](const std::string& name) { return file.tensors.at(name).to(torch::kCUDA); };
  const std::vector<torch::Tensor> in = {t("u"), t("delta"), t("A"),         t("B"),
                                         t("C"), t("D"),     t("delta_bias")};
  const auto tol = test::tolerance_for(torch::kFloat);
  EXPECT_LT(test::rel_error(forward(in).cpu(), file.tensors.at("y")), tol.forward);
  const auto grads = backward(in, t("cotangent"));
  for (int i = 0; i < 7; ++i)
    EXPECT_LT(test::rel_error(grads[i].cpu(), file.tensors.at(std::string("grad.") + kNames[i])),
              tol.gradient)
        << "grad " << kNames[i];
}

// Two backward passes are bitwise equal, forward too: on the stage-1 layout (192 channels per
// group in one block, one chunk) and on groups split over blocks with the sequence in chunks.
TEST(CudaScan, DeterministicBitwise) {
  SKIP_WITHOUT_GPU();
  for (const Shape& s : {Shape{32, 4, 192, 1024, 16}, Shape{1, 4, 200, 2048, 16}}) {
    const auto in = to_cuda(random_inputs(s, 99));
    const auto dy = torch::randn({s.batch, s.groups * s.per_group, s.L}).cuda();
    EXPECT_TRUE(torch::equal(forward(in), forward(in))) << s;
    const auto first = backward(in, dy), second = backward(in, dy);
    for (int i = 0; i < 7; ++i)
      EXPECT_TRUE(torch::equal(first[i], second[i])) << "grad " << kNames[i] << ", " << s;
  }
}

// The differentiable operator dispatches to the GPU and hands back every gradient there.
TEST(CudaScan, AutogradOnTheGpu) {
  SKIP_WITHOUT_GPU();
  const Shape s{2, 2, 16, 77, 16};
  auto leaves = to_cuda(random_inputs(s, 3));
  for (auto& x : leaves) x.requires_grad_(true);
  auto y =
      selective_scan(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6]);
  const auto dy = torch::randn_like(y);
  (y * dy).sum().backward();
  const auto direct = backward(to_cuda(random_inputs(s, 3)), dy);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(leaves[i].grad().defined()) << kNames[i];
    EXPECT_TRUE(leaves[i].grad().is_cuda()) << kNames[i];
    EXPECT_TRUE(torch::equal(leaves[i].grad(), direct[i])) << kNames[i];
  }
}

TEST(CudaScan, RejectsUnsupportedInputsWithAClearMessage) {
  SKIP_WITHOUT_GPU();
  auto expect_error = [](const std::vector<torch::Tensor>& in, const std::string& text) {
    try {
      forward(in);
      FAIL() << "expected an error mentioning " << text;
    } catch (const c10::Error& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  auto in = to_cuda(random_inputs(Shape{1, 1, 2, 9, 16}, 1));
  expect_error(with_dtype(in, torch::kDouble), "float32 or bfloat16");
  expect_error(to_cuda(random_inputs(Shape{1, 1, 2, 9, 17}, 1)), "at most 16");
}

}  // namespace
}  // namespace vmunet
