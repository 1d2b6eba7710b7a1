// The training losses against hand-worked values, against plain-loop references in double, and
// their autograd gradients against central finite differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <vector>

#include "worker/losses.h"

namespace vmunet {
namespace {

using torch::indexing::Slice;

// Max |autograd − finite difference| / max |finite difference| of scalar f at x (double).
double gradient_error(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                      const torch::Tensor& x0) {
  auto x = x0.detach().clone().requires_grad_();
  f(x).backward();
  auto analytic = x.grad().flatten();
  auto flat = x0.detach().clone().flatten();
  auto numeric = torch::empty_like(flat);
  const double h = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += h;
    minus[i] -= h;
    const double fp = f(plus.view(x0.sizes())).item<double>();
    const double fm = f(minus.view(x0.sizes())).item<double>();
    numeric[i] = (fp - fm) / (2 * h);
  }
  return ((analytic - numeric).abs().max() / numeric.abs().max()).item<double>();
}

// BCE + per-sample Dice written as loops over a (B, n) double table.
double reference_bce_dice(const torch::Tensor& probs, const torch::Tensor& target) {
  const int64_t B = probs.size(0);
  auto p = probs.reshape({B, -1}).to(torch::kDouble).contiguous();
  auto t = target.reshape({B, -1}).to(torch::kDouble).contiguous();
  const int64_t n = p.size(1);
  const double* pp = p.data_ptr<double>();
  const double* tp = t.data_ptr<double>();
  double bce = 0, dice_sum = 0;
  for (int64_t b = 0; b < B; ++b) {
    double inter = 0, sp = 0, st = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double pv = pp[b * n + j], tv = tp[b * n + j];
      bce -= tv * std::max(std::log(pv), -100.0) + (1 - tv) * std::max(std::log(1 - pv), -100.0);
      inter += pv * tv;
      sp += pv;
      st += tv;
    }
    dice_sum += (2 * inter + 1) / (sp + st + 1);
  }
  return bce / static_cast<double>(B * n) + 1 - dice_sum / static_cast<double>(B);
}

// Cross-entropy + softmax Dice (squared denominators, batch-pooled sums) as loops.
double reference_ce_dice(const torch::Tensor& logits, const torch::Tensor& labels) {
  const int64_t B = logits.size(0), K = logits.size(1);
  auto x = logits.to(torch::kDouble).reshape({B, K, -1}).contiguous();
  auto y = labels.reshape({B, -1}).contiguous();
  const int64_t n = x.size(2);
  auto xa = x.accessor<double, 3>();
  auto ya = y.accessor<int64_t, 2>();
  double ce = 0;
  std::vector<double> inter(K, 0), z_sum(K, 0), y_sum(K, 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t j = 0; j < n; ++j) {
      double mx = -INFINITY, denom = 0;
      for (int64_t k = 0; k < K; ++k) mx = std::max(mx, xa[b][k][j]);
      for (int64_t k = 0; k < K; ++k) denom += std::exp(xa[b][k][j] - mx);
      ce -= xa[b][ya[b][j]][j] - mx - std::log(denom);
      for (int64_t k = 0; k < K; ++k) {
        const double p = std::exp(xa[b][k][j] - mx) / denom, t = ya[b][j] == k ? 1.0 : 0.0;
        inter[k] += p * t;
        z_sum[k] += p * p;
        y_sum[k] += t * t;
      }
    }
  }
  double dice_loss = 0;
  for (int64_t k = 0; k < K; ++k) {
    dice_loss += 1 - (2 * inter[k] + 1e-5) / (z_sum[k] + y_sum[k] + 1e-5);
  }
  return ce / static_cast<double>(B * n) + dice_loss / static_cast<double>(K);
}

TEST(BceDiceLoss, HandWorkedExactCase) {
  // p = 0.5 everywhere: BCE = ln 2. Dice: (2·(0.5+0.5) + 1) / (2 + 2 + 1) = 3/5, loss 0.4.
  auto probs = torch::full({1, 1, 2, 2}, 0.5, torch::kDouble);
  auto target = torch::tensor({1.0, 1.0, 0.0, 0.0}, torch::kDouble).view({1, 1, 2, 2});
  EXPECT_NEAR(binary_dice_loss(probs, target).item<double>(), 0.4, 1e-15);
  EXPECT_NEAR(bce_dice_loss(probs, target).item<double>(), std::log(2.0) + 0.4, 1e-15);
  EXPECT_NEAR(bce_dice_loss(probs, target, {2.0, 3.0}).item<double>(), 2 * std::log(2.0) + 3 * 0.4,
              1e-15);
}

TEST(BceDiceLoss, ClampsLogsLikeNnBceLoss) {
  // Confidently wrong everywhere: each log(0) is clamped to −100. Dice (0 + 1)/(1 + 1 + 1).
  auto probs = torch::tensor({0.0, 1.0}).view({1, 1, 1, 2});
  auto target = torch::tensor({1.0, 0.0}).view({1, 1, 1, 2});
  EXPECT_NEAR(bce_dice_loss(probs, target).item<double>(), 100.0 + 2.0 / 3.0, 1e-4);
}

TEST(BceDiceLoss, DiceIsPerSampleThenMean) {
  // Sample 0 perfect (dice (2·2+1)/(2+2+1) = 1), sample 1 empty prediction on a 2-pixel mask
  // (dice 1/3): mean dice 2/3, loss 1/3 — a batch-pooled Dice would give 1 − 5/7.
  auto probs =
      torch::tensor({1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, torch::kDouble).view({2, 1, 2, 2});
  auto target =
      torch::tensor({1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0}, torch::kDouble).view({2, 1, 2, 2});
  EXPECT_NEAR(binary_dice_loss(probs, target).item<double>(), 1.0 / 3.0, 1e-15);
}

TEST(BceDiceLoss, MatchesLoopReferenceOnRandomFloatBatch) {
  torch::manual_seed(3);
  auto probs = torch::rand({3, 1, 5, 7}).clamp(0.01, 0.99);
  auto target = (torch::rand({3, 1, 5, 7}) > 0.6).to(torch::kFloat);
  EXPECT_NEAR(bce_dice_loss(probs, target).item<double>(), reference_bce_dice(probs, target), 2e-6);
}

TEST(BceDiceLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  auto probs = torch::rand({2, 1, 3, 4}, torch::kDouble) * 0.8 + 0.1;
  auto target = (torch::rand({2, 1, 3, 4}, torch::kDouble) > 0.5).to(torch::kDouble);
  EXPECT_LT(gradient_error([&](const torch::Tensor& p) { return bce_dice_loss(p, target); }, probs),
            1e-7);
}

TEST(CeDiceLoss, HandWorkedExactCase) {
  // Zero logits: p = 1/3 for each of 3 classes, so CE = ln 3. Labels [[0, 1], [2, 2]]:
  // class 0 and 1: Σp·t = 1/3, Σp² = 4/9, Σt² = 1; class 2: Σp·t = 2/3, Σp² = 4/9, Σt² = 2.
  auto logits = torch::zeros({1, 3, 2, 2}, torch::kDouble);
  auto labels = torch::tensor({0, 1, 2, 2}, torch::kLong).view({1, 2, 2});
  const double s = 1e-5;
  const double d01 = (2.0 / 3.0 + s) / (4.0 / 9.0 + 1 + s),
               d2 = (4.0 / 3.0 + s) / (4.0 / 9.0 + 2 + s);
  const double dice_loss = ((1 - d01) * 2 + (1 - d2)) / 3;
  EXPECT_NEAR(softmax_dice_loss(logits, labels).item<double>(), dice_loss, 1e-15);
  EXPECT_NEAR(ce_dice_loss(logits, labels).item<double>(), std::log(3.0) + dice_loss, 1e-15);
  EXPECT_NEAR(ce_dice_loss(logits, labels, {0.4, 0.6}).item<double>(),
              0.4 * std::log(3.0) + 0.6 * dice_loss, 1e-15);
  auto sums = softmax_dice_sums(logits, labels);
  ASSERT_EQ(sums.sizes(), (std::vector<int64_t>{3, 3}));
  EXPECT_NEAR(sums[2][0].item<double>(), 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(sums[2][1].item<double>(), 4.0 / 9.0, 1e-15);
  EXPECT_NEAR(sums[2][2].item<double>(), 2.0, 1e-15);
}

TEST(CeDiceLoss, MatchesLoopReferenceOnRandomBatchOfNineClasses) {
  torch::manual_seed(5);
  auto logits = torch::randn({2, 9, 6, 5}) * 2;
  auto labels = torch::randint(0, 9, {2, 6, 5}, torch::kLong);
  labels.index_put_({0}, 4);  // a class absent from sample 1 and dominant in sample 0
  EXPECT_NEAR(ce_dice_loss(logits, labels).item<double>(), reference_ce_dice(logits, labels), 2e-6);
}

TEST(CeDiceLoss, SumsOverShardsAddUpToTheBatch) {
  // What a data-parallel run relies on: the batch's Dice sums are the sum of its shards' sums.
  torch::manual_seed(6);
  auto logits = torch::randn({4, 9, 3, 3}, torch::kDouble);
  auto labels = torch::randint(0, 9, {4, 3, 3}, torch::kLong);
  auto whole = softmax_dice_sums(logits, labels);
  auto parts = softmax_dice_sums(logits.narrow(0, 0, 1), labels.narrow(0, 0, 1)) +
               softmax_dice_sums(logits.narrow(0, 1, 3), labels.narrow(0, 1, 3));
  EXPECT_LT((whole - parts).abs().max().item<double>(), 1e-14);
  EXPECT_NEAR(dice_loss_from_sums(parts).item<double>(),
              softmax_dice_loss(logits, labels).item<double>(), 1e-14);
}

TEST(CeDiceLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(7);
  auto logits = torch::randn({2, 4, 3, 2}, torch::kDouble);
  auto labels = torch::randint(0, 4, {2, 3, 2}, torch::kLong);
  EXPECT_LT(gradient_error([&](const torch::Tensor& x) { return ce_dice_loss(x, labels); }, logits),
            1e-7);
}

TEST(Losses, RejectMismatchedInputs) {
  auto p = torch::rand({2, 1, 4, 4});
  EXPECT_THROW(bce_dice_loss(p, torch::rand({2, 1, 4, 3})), c10::Error);
  auto logits = torch::randn({2, 3, 4, 4});
  EXPECT_THROW(ce_dice_loss(logits, torch::zeros({2, 4, 4}, torch::kInt)), c10::Error);
  EXPECT_THROW(ce_dice_loss(logits, torch::zeros({2, 4, 5}, torch::kLong)), c10::Error);
}

}  // namespace
}  // namespace vmunet
