// The cosine schedule against PyTorch's CosineAnnealingLR (T_max 50, eta_min 1e-5, base 1e-3).
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "worker/lr_schedule.h"

namespace vmunet {
namespace {

double closed_form(const CosineSchedule& s, int64_t epoch) {
  return s.eta_min +
         (s.base_lr - s.eta_min) * (1 + std::cos(M_PI * static_cast<double>(epoch) / s.t_max)) / 2;
}

// The lr PyTorch's get_lr recursion reaches at these epochs, evaluated step by step in CPython
// floats from a transcription of torch/optim/lr_scheduler.py; the recursion ends a few ulps away
// from the closed form (epoch 100 is 4 ulps below 1e-3), which these exact values pin down.
TEST(CosineSchedule, MatchesPyTorchRecursionBitForBit) {
  const CosineSchedule s{1e-3, 1e-5, 50};
  EXPECT_EQ(cosine_annealing_lr(s, 0), 0x1.0624dd2f1a9fcp-10);    // 0.001
  EXPECT_EQ(cosine_annealing_lr(s, 25), 0x1.08c3f3e0370ccp-11);   // 0.0005049999999999998
  EXPECT_EQ(cosine_annealing_lr(s, 50), 0x1.4f8b588e368f1p-17);   // 1e-05
  EXPECT_EQ(cosine_annealing_lr(s, 75), 0x1.08c3f3e0370c9p-11);   // 0.0005049999999999995
  EXPECT_EQ(cosine_annealing_lr(s, 100), 0x1.0624dd2f1a9f8p-10);  // 0.0009999999999999992
  EXPECT_EQ(cosine_annealing_lr(s, 299), 0x1.05e35069baa01p-10);  // 0.000999023230571994
}

TEST(CosineSchedule, FollowsTheClosedFormAndIsPeriodicPastTMax) {
  const CosineSchedule s{1e-3, 1e-5, 50};
  EXPECT_EQ(cosine_annealing_lr(s, 0), 1e-3);
  EXPECT_EQ(cosine_annealing_lr(s, 50), 1e-5);  // 1 + cos(π) = 0 exactly
  EXPECT_NEAR(cosine_annealing_lr(s, 25), 5.05e-4, 1e-18);
  EXPECT_NEAR(cosine_annealing_lr(s, 75), 5.05e-4, 1e-18);
  EXPECT_NEAR(cosine_annealing_lr(s, 100), 1e-3, 1e-18);
  // cos(299π/50) = cos(0.02π) = 0.998026728428272...
  EXPECT_NEAR(cosine_annealing_lr(s, 299), 1e-5 + 9.9e-4 * (1 + 0.9980267284282716) / 2, 1e-18);
  for (int64_t e = 0; e <= 300; ++e) {
    EXPECT_NEAR(cosine_annealing_lr(s, e), closed_form(s, e), 2e-18) << "epoch " << e;
  }
  EXPECT_GT(cosine_annealing_lr(s, 60), cosine_annealing_lr(s, 51));  // rising again
  EXPECT_NEAR(cosine_annealing_lr(s, 160), cosine_annealing_lr(s, 60), 2e-18);
}

TEST(CosineSchedule, OtherParameters) {
  const CosineSchedule s{0.1, 0.0, 3};
  EXPECT_NEAR(cosine_annealing_lr(s, 1), 0.1 * (1 + std::cos(M_PI / 3)) / 2, 1e-17);  // 0.075
  EXPECT_NEAR(cosine_annealing_lr(s, 1), 0.075, 1e-15);
  EXPECT_EQ(cosine_annealing_lr(s, 3), 0.0);
  EXPECT_NEAR(cosine_annealing_lr(s, 4), 0.025, 1e-15);  // the step past the minimum
  EXPECT_NEAR(cosine_annealing_lr(s, 6), 0.1, 1e-15);
}

TEST(CosineSchedule, RejectsBadArguments) {
  EXPECT_THROW(cosine_annealing_lr({1e-3, 1e-5, 0}, 1), Error);
  EXPECT_THROW(cosine_annealing_lr({1e-3, 1e-5, 50}, -1), Error);
}

}  // namespace
}  // namespace vmunet
