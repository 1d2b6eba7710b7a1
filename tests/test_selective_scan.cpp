// The CPU selective scan against (1) a naive double-precision reference written as plain per-step
// tensor ops and differentiated by autograd, (2) finite differences of the kernel itself in double,
// and (3) the official kernel's outputs and gradients (tests/fixtures/selective-scan.safetensors).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "model/safetensors.h"
#include "model/selective_scan.h"
#include "model/selective_scan_cpu_isa.h"
#include "model/selective_scan_dt.h"
#include "tests/scan_order_reference.h"
#include "tests/tolerances.h"

namespace vmunet {
namespace {

struct ScanInputs {
  torch::Tensor u, delta, A, B, C, D, delta_bias;
  std::vector<torch::Tensor> list() const { return {u, delta, A, B, C, D, delta_bias}; }
};

ScanInputs random_inputs(int64_t batch, int64_t groups, int64_t per_group, int64_t L, int64_t N,
                         torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t Ch = groups * per_group;
  auto opt = torch::TensorOptions().dtype(dtype);
  ScanInputs in;
  in.u = torch::randn({batch, Ch, L}, opt);
  in.delta = torch::randn({batch, Ch, L}, opt) * 0.5 - 1.0;
  in.A = -torch::exp(torch::randn({Ch, N}, opt) * 0.5);
  in.B = torch::randn({batch, groups, N, L}, opt);
  in.C = torch::randn({batch, groups, N, L}, opt);
  in.D = torch::randn({Ch}, opt);
  in.delta_bias = torch::randn({Ch}, opt) * 0.3;
  return in;
}

// The definition, one time step at a time, in tensor ops (autograd gives every gradient).
torch::Tensor naive_scan(const ScanInputs& in) {
  const int64_t batch = in.u.size(0), Ch = in.u.size(1), L = in.u.size(2);
  const int64_t G = in.B.size(1), N = in.B.size(2);
  auto dt = torch::nn::functional::softplus(in.delta + in.delta_bias.view({1, Ch, 1}));
  // Expand the groups' B and C to every channel: (batch, Ch, N, L).
  auto Bc = in.B.repeat_interleave(Ch / G, 1);
  auto Cc = in.C.repeat_interleave(Ch / G, 1);
  auto h = torch::zeros({batch, Ch, N}, in.u.options());
  std::vector<torch::Tensor> ys;
  for (int64_t l = 0; l < L; ++l) {
    auto d = dt.select(2, l).unsqueeze(-1);  // (batch, Ch, 1)
    h = torch::exp(d * in.A) * h + d * Bc.select(3, l) * in.u.select(2, l).unsqueeze(-1);
    ys.push_back((h * Cc.select(3, l)).sum(-1) + in.D * in.u.select(2, l));
  }
  return torch::stack(ys, 2);
}

std::vector<torch::Tensor> reference_grads(const ScanInputs& in, const torch::Tensor& cotangent) {
  auto leaves = in.list();
  for (auto& t : leaves) t = t.detach().to(torch::kDouble).requires_grad_(true);
  ScanInputs d{leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6]};
  (naive_scan(d) * cotangent.to(torch::kDouble)).sum().backward();
  std::vector<torch::Tensor> g;
  for (auto& t : leaves) g.push_back(t.grad());
  return g;
}

const char* kNames[] = {"u", "delta", "A", "B", "C", "D", "delta_bias"};

struct Shape {
  int64_t batch, groups, per_group, L, N;
};

// Runs the CPU scan's kernels for one instruction set for its scope
// (model/selective_scan_cpu_isa.h), or skips the test where this processor lacks it.
class WithScanIsa {
 public:
  explicit WithScanIsa(CpuScanIsa isa) { choose_cpu_scan_isa(isa); }
  ~WithScanIsa() { choose_cpu_scan_isa(CpuScanIsa::best); }
  static bool runs(CpuScanIsa isa) { return isa != CpuScanIsa::avx2 || cpu_runs_scan_avx2(); }
};
const char* isa_name(CpuScanIsa isa) { return isa == CpuScanIsa::avx2 ? "avx2" : "generic"; }
const auto kIsas = ::testing::Values(CpuScanIsa::generic, CpuScanIsa::avx2);

class ScanVsNaive : public ::testing::TestWithParam<std::tuple<Shape, CpuScanIsa>> {};

TEST_P(ScanVsNaive, ForwardAndAllGradients) {
  const auto [s, isa] = GetParam();
  if (!WithScanIsa::runs(isa)) GTEST_SKIP() << "no AVX2 + FMA here";
  const WithScanIsa chosen(isa);
  auto in = random_inputs(s.batch, s.groups, s.per_group, s.L, s.N, torch::kFloat, 1234 + s.L);
  auto cot = torch::randn({s.batch, s.groups * s.per_group, s.L});
  auto in64 = in.list();
  for (auto& t : in64) t = t.to(torch::kDouble);
  auto y_ref = naive_scan({in64[0], in64[1], in64[2], in64[3], in64[4], in64[5], in64[6]});
  auto y = selective_scan_forward(in.u, in.delta, in.A, in.B, in.C, in.D, in.delta_bias);
  const auto tol = test::tolerance_for(torch::kFloat);
  EXPECT_LT(test::rel_error(y, y_ref), tol.forward) << "y";

  auto grads = selective_scan_backward(in.u, in.delta, in.A, in.B, in.C, in.D, in.delta_bias, cot);
  auto ref = reference_grads(in, cot);
  for (int i = 0; i < 7; ++i)
    EXPECT_LT(test::rel_error(grads[i], ref[i]), tol.gradient) << "grad " << kNames[i];
}

// Lengths that are not multiples of any block size, one-step sequences, and groups of more
// channels than the forward's vector lanes (8) with a partial last block.
INSTANTIATE_TEST_SUITE_P(
    Shapes, ScanVsNaive,
    ::testing::Combine(::testing::Values(Shape{1, 1, 1, 1, 1}, Shape{2, 4, 3, 7, 16},
                                         Shape{3, 2, 5, 63, 4}, Shape{1, 4, 2, 129, 16},
                                         Shape{2, 1, 4, 300, 8}, Shape{2, 2, 11, 33, 16}),
                       kIsas),
    [](const auto& info) {
      const Shape s = std::get<0>(info.param);
      return "b" + std::to_string(s.batch) + "g" + std::to_string(s.groups) + "c" +
             std::to_string(s.per_group) + "L" + std::to_string(s.L) + "N" + std::to_string(s.N) +
             "_" + isa_name(std::get<1>(info.param));
    });

// Central differences of Σ y·G in double against the kernel's analytic gradients, every element.
TEST(SelectiveScan, FiniteDifferencesDouble) {
  auto in = random_inputs(2, 2, 2, 5, 3, torch::kDouble, 7);
  auto cot = torch::randn({2, 4, 5}, torch::kDouble);
  auto inputs = in.list();
  auto loss = [&](const std::vector<torch::Tensor>& x) {
    return (selective_scan_forward(x[0], x[1], x[2], x[3], x[4], x[5], x[6]) * cot)
        .sum()
        .item<double>();
  };
  auto grads = selective_scan_backward(inputs[0], inputs[1], inputs[2], inputs[3], inputs[4],
                                       inputs[5], inputs[6], cot);
  const double eps = 1e-6;
  for (int i = 0; i < 7; ++i) {
    auto flat = inputs[i].view({-1});
    auto g = grads[i].reshape({-1});
    for (int64_t k = 0; k < flat.numel(); ++k) {
      const double orig = flat[k].item<double>();
      flat[k] = orig + eps;
      const double up = loss(inputs);
      flat[k] = orig - eps;
      const double down = loss(inputs);
      flat[k] = orig;
      const double fd = (up - down) / (2 * eps);
      EXPECT_NEAR(g[k].item<double>(), fd, 1e-6 * std::max(1.0, std::abs(fd)))
          << "grad " << kNames[i] << "[" << k << "]";
    }
  }
}

class ScanIsaVsOfficial : public ::testing::TestWithParam<CpuScanIsa> {};

TEST_P(ScanIsaVsOfficial, MatchesTheKernelFixture) {
  if (!WithScanIsa::runs(GetParam())) GTEST_SKIP() << "no AVX2 + FMA here";
  const WithScanIsa chosen(GetParam());
  const auto file = read_safetensors(std::string(VMUNET_FIXTURES) + "/selective-scan.safetensors");
  auto t = [&](const std::string& name) { return file.tensors.at(name); };
  auto y =
      selective_scan_forward(t("u"), t("delta"), t("A"), t("B"), t("C"), t("D"), t("delta_bias"));
  const auto tol = test::tolerance_for(torch::kFloat);
  EXPECT_LT(test::rel_error(y, t("y")), tol.forward);
  auto grads = selective_scan_backward(t("u"), t("delta"), t("A"), t("B"), t("C"), t("D"),
                                       t("delta_bias"), t("cotangent"));
  for (int i = 0; i < 7; ++i)
    EXPECT_LT(test::rel_error(grads[i], t(std::string("grad.") + kNames[i])), tol.gradient)
        << "grad " << kNames[i];
}
INSTANTIATE_TEST_SUITE_P(Isas, ScanIsaVsOfficial, kIsas,
                         [](const auto& info) { return std::string(isa_name(info.param)); });

// The autograd glue hands every gradient back (float in, float gradients out).
TEST(SelectiveScan, AutogradReturnsAllSevenGradients) {
  auto in = random_inputs(1, 2, 2, 9, 4, torch::kFloat, 3);
  auto leaves = in.list();
  for (auto& x : leaves) x.requires_grad_(true);
  auto y =
      selective_scan(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5], leaves[6]);
  y.sum().backward();
  auto direct = selective_scan_backward(in.u, in.delta, in.A, in.B, in.C, in.D, in.delta_bias,
                                        torch::ones_like(y));
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(leaves[i].grad().defined()) << kNames[i];
    EXPECT_TRUE(torch::equal(leaves[i].grad(), direct[i])) << kNames[i];
  }
}

// Shared u slices and reversed groups (SS2D's layout: 4 groups, pairs sharing u, odd groups
// reversed, and a mixed mask) equal the plain scan on materialised, flipped copies, forward and
// every gradient, through the autograd operator as well.
class ScanOrderVsCopies : public ::testing::TestWithParam<ScanOrder> {};

TEST_P(ScanOrderVsCopies, ForwardAndAllGradients) {
  const ScanOrder order = GetParam();
  const int64_t batch = 2, groups = 4, per_group = 3, L = 37, N = 5;
  auto in = random_inputs(batch, groups, per_group, L, N, torch::kDouble, 77).list();
  in[0] = torch::randn({batch, groups * per_group / order.u_share, L}, torch::kDouble);
  const auto dy = torch::randn({batch, groups * per_group, L}, torch::kDouble);
  const auto ref = test::materialised_scan(in, dy, order);

  auto leaves = in;
  for (auto& x : leaves) x.requires_grad_(true);
  auto y = selective_scan(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4], leaves[5],
                          leaves[6], order);
  EXPECT_LT(test::rel_error(y, ref.y), 1e-12) << "y";
  (y * dy).sum().backward();
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(leaves[i].grad().sizes(), in[i].sizes()) << kNames[i];
    EXPECT_LT(test::rel_error(leaves[i].grad(), ref.grads[i]), 1e-12) << kNames[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Orders, ScanOrderVsCopies,
                         ::testing::Values(ScanOrder{1, 0b0000u}, ScanOrder{2, 0b1010u},
                                           ScanOrder{1, 0b0110u}, ScanOrder{4, 0b1001u}));

// Δ projected inside the operator (and recomputed in backward) equals the product formed outside
// and handed to the plain operator: output and the gradients of all eight tensors, in double.
// On the CPU Δ is formed inside the kernels; 9 channels per group fill one block of the forward's
// vector lanes and start a second.
TEST(SelectiveScanDt, EqualsTheProjectionFormedOutside) {
  const ScanOrder order{2, 0b1010u};
  const int64_t batch = 2, groups = 4, per_group = 9, rank = 2, L = 23, N = 4;
  auto in = random_inputs(batch, groups, per_group, L, N, torch::kDouble, 91).list();
  in[0] = torch::randn({batch, groups * per_group / 2, L}, torch::kDouble);
  auto dt_in = torch::randn({batch, groups, rank, L}, torch::kDouble);
  auto dt_w = torch::randn({groups, per_group, rank}, torch::kDouble) * 0.5;
  const auto dy = torch::randn({batch, groups * per_group, L}, torch::kDouble);

  auto leaves = [&] {
    std::vector<torch::Tensor> t{in[0], dt_in, dt_w, in[2], in[3], in[4], in[5], in[6]};
    for (auto& x : t) x = x.detach().clone().requires_grad_(true);
    return t;
  };
  auto a = leaves(), b = leaves();
  auto y_in = selective_scan_dt(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], order);
  auto delta = torch::matmul(b[2], b[1]).view({batch, groups * per_group, L});
  auto y_out = selective_scan(b[0], delta, b[3], b[4], b[5], b[6], b[7], order);
  EXPECT_LT(test::rel_error(y_in, y_out), 1e-12);
  (y_in * dy).sum().backward();
  (y_out * dy).sum().backward();
  const char* names[] = {"u", "dt_in", "dt_w", "A", "B", "C", "D", "delta_bias"};
  for (int i = 0; i < 8; ++i)
    EXPECT_LT(test::rel_error(a[i].grad(), b[i].grad()), 1e-12) << names[i];
}

TEST(SelectiveScan, RejectsAnOrderThatDoesNotFitTheGroups) {
  auto in = random_inputs(1, 4, 2, 9, 4, torch::kFloat, 3);
  auto message = [&](const torch::Tensor& u, const ScanOrder& order) {
    try {
      selective_scan_forward(u, in.delta, in.A, in.B, in.C, in.D, in.delta_bias, order);
    } catch (const c10::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(in.u, {3, 0}).find("u_share (3) must divide the groups (4)"),
            std::string::npos);
  EXPECT_NE(message(in.u, {2, 0}).find("u must have shape"), std::string::npos);
  EXPECT_NE(message(in.u, {1, 0b10000u}).find("names a group past the last"), std::string::npos);
}

TEST(SelectiveScan, RejectsMismatchedShapesWithAClearMessage) {
  auto in = random_inputs(1, 2, 2, 9, 4, torch::kFloat, 3);
  try {
    selective_scan_forward(in.u, in.delta, in.A.narrow(1, 0, 3), in.B, in.C, in.D, in.delta_bias);
    FAIL() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("A must have shape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vmunet
