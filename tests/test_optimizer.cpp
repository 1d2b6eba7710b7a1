// AdamW against PyTorch's update written out in double: decoupled weight decay, bias-corrected
// moments, and the learning rate set per epoch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "worker/optimizer.h"

namespace vmunet {
namespace {

// torch.optim.AdamW (amsgrad=False) for one scalar parameter.
struct ReferenceAdamW {
  AdamWConfig c;
  double m = 0, v = 0;
  int t = 0;
  double step(double p, double g, double lr) {
    ++t;
    p *= 1 - lr * c.weight_decay;
    m = c.beta1 * m + (1 - c.beta1) * g;
    v = c.beta2 * v + (1 - c.beta2) * g * g;
    const double bc1 = 1 - std::pow(c.beta1, t), bc2 = 1 - std::pow(c.beta2, t);
    return p - lr / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + c.eps);
  }
};

TEST(AdamW, MatchesPyTorchUpdateOverSeveralSteps) {
  const AdamWConfig config;  // the paper's: lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-2
  const std::vector<double> start{1.0, -2.0, 0.25};
  const std::vector<std::vector<double>> grads{
      {0.5, -0.1, 0.0}, {-0.3, 0.2, 1e-3}, {0.05, 0.0, -2.0}, {0.4, 0.4, 0.4}};
  const std::vector<double> lrs{1e-3, 1e-3, 5e-4, 2e-4};  // set_lr between steps

  auto p = torch::tensor(start, torch::kDouble).requires_grad_();
  auto opt = make_adamw({p}, config);
  std::vector<ReferenceAdamW> ref(start.size(), ReferenceAdamW{config});
  std::vector<double> expected = start;
  for (size_t s = 0; s < grads.size(); ++s) {
    set_lr(*opt, lrs[s]);
    p.mutable_grad() = torch::tensor(grads[s], torch::kDouble);
    opt->step();
    for (size_t i = 0; i < start.size(); ++i)
      expected[i] = ref[i].step(expected[i], grads[s][i], lrs[s]);
    for (size_t i = 0; i < start.size(); ++i) {
      EXPECT_NEAR(p[i].item<double>(), expected[i], 1e-15) << "step " << s << " element " << i;
    }
  }
}

TEST(AdamW, DecaysEveryParameterDecoupledFromTheGradient) {
  // With a zero gradient the Adam term is 0/eps = 0, leaving exactly p·(1 − lr·wd); an L2
  // penalty folded into the gradient would instead move p by about lr.
  auto w = torch::tensor({3.0, -1.5}, torch::kDouble).requires_grad_();
  auto b = torch::tensor({0.5}, torch::kDouble).requires_grad_();
  auto opt = make_adamw({w, b}, AdamWConfig{});
  ASSERT_EQ(opt->param_groups().size(), 1u);
  w.mutable_grad() = torch::zeros_like(w);
  b.mutable_grad() = torch::zeros_like(b);
  opt->step();
  EXPECT_EQ(w[0].item<double>(), 3.0 * (1 - 1e-3 * 1e-2));
  EXPECT_EQ(w[1].item<double>(), -1.5 * (1 - 1e-3 * 1e-2));
  EXPECT_EQ(b[0].item<double>(), 0.5 * (1 - 1e-3 * 1e-2));
}

TEST(AdamW, SetLrReachesEveryGroup) {
  auto a = torch::zeros({2}, torch::requires_grad()), c = torch::zeros({3}, torch::requires_grad());
  auto opt = make_adamw({a}, AdamWConfig{});
  opt->add_param_group(torch::optim::OptimizerParamGroup({c}, opt->defaults().clone()));
  set_lr(*opt, 4.5e-4);
  for (auto& g : opt->param_groups()) EXPECT_EQ(g.options().get_lr(), 4.5e-4);
}

// The fused step against LibTorch's loop, with one unfused step in the middle of the fused run:
// both must read and write the same state, as a resume from a checkpoint needs.
void expect_fused_step_matches_libtorch_loop(const torch::Device& device) {
  torch::manual_seed(3);
  const std::vector<std::vector<int64_t>> shapes{{7, 5}, {300}, {2, 3, 4}};
  std::vector<torch::Tensor> fused_params, loop_params;
  for (const auto& shape : shapes) {
    auto p = torch::randn(shape, torch::device(device));
    fused_params.push_back(p.clone().requires_grad_());
    loop_params.push_back(p.clone().requires_grad_());
  }
  auto fused = make_adamw(fused_params, AdamWConfig{});
  auto loop = make_adamw(loop_params, AdamWConfig{});
  const std::vector<double> lrs{1e-3, 8e-4, 5e-4, 2e-4};
  for (size_t s = 0; s < lrs.size(); ++s) {
    set_lr(*fused, lrs[s]);
    set_lr(*loop, lrs[s]);
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto g = torch::randn(shapes[i], torch::device(device));
      fused_params[i].mutable_grad() = g.clone();
      loop_params[i].mutable_grad() = g.clone();
    }
    adamw_step(*fused, /*fused=*/s != 2);
    adamw_step(*loop, /*fused=*/false);
    for (size_t i = 0; i < shapes.size(); ++i) {
      const double err = (fused_params[i] - loop_params[i]).abs().max().item<double>();
      EXPECT_LT(err, 1e-6) << "step " << s << " tensor " << i;
    }
  }
}

TEST(AdamW, FusedCpuStepMatchesLibTorchLoop) {
  ASSERT_TRUE(fused_adamw_available(torch::kCPU));
  expect_fused_step_matches_libtorch_loop(torch::kCPU);
}

TEST(AdamW, FusedCudaStepMatchesLibTorchLoop) {
  const torch::Device cuda(torch::kCUDA);
  if (!torch::cuda::is_available() || !fused_adamw_available(cuda))
    GTEST_SKIP() << "no CUDA device or no fused AdamW in this build";
  expect_fused_step_matches_libtorch_loop(cuda);
}

}  // namespace
}  // namespace vmunet
