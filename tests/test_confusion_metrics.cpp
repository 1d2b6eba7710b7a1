// ISIC confusion counts and scores on hand-made cases, including zero denominators.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "metrics/confusion_metrics.h"

namespace vmunet {
namespace {

TEST(BinaryConfusion, CountsAHandMadeCase) {
  // pred (≥ 0.5):  0    1    1    0     1    0   → 0.5 itself counts as positive
  // truth (≥ 0.5): 0    1    1    1     0    0
  auto probs = torch::tensor({0.2, 0.5, 0.7, 0.49, 0.9, 0.1}).view({1, 2, 3});
  auto target = torch::tensor({0, 1, 1, 1, 0, 0}, torch::kByte).view({1, 2, 3});
  BinaryConfusion c;
  c.add(probs, target);
  EXPECT_EQ(c.tp, 2);
  EXPECT_EQ(c.fp, 1);
  EXPECT_EQ(c.fn, 1);
  EXPECT_EQ(c.tn, 2);
  const auto m = c.metrics();
  EXPECT_DOUBLE_EQ(m.miou, 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(m.dsc, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.acc, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.spe, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.sen, 2.0 / 3.0);
}

TEST(BinaryConfusion, ThresholdsSoftTargetsAtHalfAndHonoursTheThreshold) {
  auto probs = torch::tensor({0.6, 0.6, 0.3, 0.3});
  auto target = torch::tensor({0.5, 0.4, 0.7, 0.2});  // truth: 1 0 1 0
  BinaryConfusion at_half, at_quarter;
  at_half.add(probs, target);
  at_quarter.add(probs, target, 0.25);
  EXPECT_EQ(at_half.to_array(), (std::array<int64_t, 4>{1, 1, 1, 1}));
  EXPECT_EQ(at_quarter.to_array(), (std::array<int64_t, 4>{2, 2, 0, 0}));
}

TEST(BinaryConfusion, BatchesAndShardsMergeToTheSameCounts) {
  torch::manual_seed(11);
  auto probs = torch::rand({6, 1, 9, 8});
  auto target = (torch::rand({6, 1, 9, 8}) > 0.7).to(torch::kFloat);
  BinaryConfusion whole, first, second;
  whole.add(probs, target);
  first.add(probs.narrow(0, 0, 2), target.narrow(0, 0, 2));
  second.add(probs.narrow(0, 2, 4), target.narrow(0, 2, 4));
  first.merge(second);
  EXPECT_EQ(first.to_array(), whole.to_array());
  EXPECT_EQ(BinaryConfusion::from_array(whole.to_array()).to_array(), whole.to_array());
  const auto c = whole.to_array();
  EXPECT_EQ(c[0] + c[1] + c[2] + c[3], 6 * 9 * 8);
  EXPECT_EQ(c[0], (probs.ge(0.5) & target.ge(0.5)).sum().item<int64_t>());
}

TEST(BinaryConfusion, ZeroDenominatorsGiveZeroNotNan) {
  BinaryMetrics empty = BinaryConfusion{}.metrics();
  EXPECT_EQ(empty.miou, 0.0);
  EXPECT_EQ(empty.dsc, 0.0);
  EXPECT_EQ(empty.acc, 0.0);
  EXPECT_EQ(empty.spe, 0.0);
  EXPECT_EQ(empty.sen, 0.0);
  // All background, predicted as such: no positives anywhere.
  const auto negative = BinaryConfusion{0, 0, 0, 10}.metrics();
  EXPECT_EQ(negative.miou, 0.0);
  EXPECT_EQ(negative.dsc, 0.0);
  EXPECT_EQ(negative.sen, 0.0);
  EXPECT_EQ(negative.spe, 1.0);
  EXPECT_EQ(negative.acc, 1.0);
  // All foreground, all predicted: Spe has no negatives to count.
  const auto positive = BinaryConfusion{7, 0, 0, 0}.metrics();
  EXPECT_EQ(positive.miou, 1.0);
  EXPECT_EQ(positive.dsc, 1.0);
  EXPECT_EQ(positive.spe, 0.0);
}

TEST(BinaryConfusion, CountsBeyondInt32) {
  // Counts are int64: a test set of 808 images of 2048² pixels overflows 32 bits.
  const BinaryConfusion c{3'000'000'000, 1'000'000'000, 1'000'000'000, 5'000'000'000};
  EXPECT_DOUBLE_EQ(c.metrics().miou, 0.6);
  EXPECT_DOUBLE_EQ(c.metrics().dsc, 0.75);
  EXPECT_DOUBLE_EQ(c.metrics().acc, 0.8);
}

}  // namespace
}  // namespace vmunet
