#include "metrics/confusion_metrics.h"

#include <torch/torch.h>

namespace vmunet {
namespace {

double ratio(int64_t num, int64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

void BinaryConfusion::add(const torch::Tensor& probs, const torch::Tensor& target,
                          double threshold) {
  TORCH_CHECK(probs.sizes() == target.sizes(), "confusion counts: probs ", probs.sizes(),
              " and target ", target.sizes(), " must have the same shape");
  auto predicted = probs.ge(threshold);
  auto truth = target.ge(0.5);
  auto sums = torch::stack({predicted.logical_and(truth).sum(), predicted.sum(), truth.sum()})
                  .to(torch::kCPU, torch::kLong);
  const int64_t both = sums[0].item<int64_t>(), pos_pred = sums[1].item<int64_t>(),
                pos_true = sums[2].item<int64_t>();
  tp += both;
  fp += pos_pred - both;
  fn += pos_true - both;
  tn += probs.numel() - pos_pred - pos_true + both;
}

void BinaryConfusion::merge(const BinaryConfusion& o) {
  tp += o.tp;
  fp += o.fp;
  fn += o.fn;
  tn += o.tn;
}

std::array<int64_t, 4> BinaryConfusion::to_array() const { return {tp, fp, fn, tn}; }

BinaryConfusion BinaryConfusion::from_array(const std::array<int64_t, 4>& c) {
  return {c[0], c[1], c[2], c[3]};
}

BinaryMetrics BinaryConfusion::metrics() const {
  BinaryMetrics m;
  m.miou = ratio(tp, tp + fp + fn);
  m.dsc = ratio(2 * tp, 2 * tp + fp + fn);
  m.acc = ratio(tp + tn, tp + fp + fn + tn);
  m.spe = ratio(tn, tn + fp);
  m.sen = ratio(tp, tp + fn);
  return m;
}

}  // namespace vmunet
