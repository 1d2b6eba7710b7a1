// The ISIC metrics: one binary confusion matrix over every test pixel, and the paper's five
// scores derived from it (as the official engine.py computes them).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>

namespace vmunet {

struct BinaryMetrics {
  double miou = 0;  // TP / (TP + FP + FN)
  double dsc = 0;   // 2TP / (2TP + FP + FN)
  double acc = 0;   // (TP + TN) / (TP + FP + FN + TN)
  double spe = 0;   // TN / (TN + FP)
  double sen = 0;   // TP / (TP + FN)
};

// Exact pixel counts, so shards of a test set (batches, cases, ranks) add up to the same matrix.
struct BinaryConfusion {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;

  // Counts the pixels of one batch: predicted positive where probs ≥ threshold, truly positive
  // where target ≥ 0.5 (the official code thresholds both). probs and target have the same shape
  // and may live on any device; this waits for the device once per call.
  void add(const torch::Tensor& probs, const torch::Tensor& target, double threshold = 0.5);

  void merge(const BinaryConfusion& other);

  // {tp, fp, fn, tn}: the layout to all-reduce (sum) across ranks.
  std::array<int64_t, 4> to_array() const;
  static BinaryConfusion from_array(const std::array<int64_t, 4>& counts);

  // Each score is 0 when its denominator is 0 (the official code's convention, e.g. DSC of an
  // empty prediction on an empty mask is 0, Spe is 0 when there are no negative pixels).
  BinaryMetrics metrics() const;
};

}  // namespace vmunet
