#include "metrics/volume_metrics.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "metrics/hd95.h"

namespace vmunet {

double dice_coefficient(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) {
    throw Error("dice: masks of " + std::to_string(a.size()) + " and " + std::to_string(b.size()) +
                " voxels");
  }
  int64_t both = 0, size_a = 0, size_b = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    both += a[i] && b[i];
    size_a += a[i] != 0;
    size_b += b[i] != 0;
  }
  const int64_t den = size_a + size_b;
  return den == 0 ? 0.0 : 2.0 * static_cast<double>(both) / static_cast<double>(den);
}

OrganScore score_organ(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& label,
                       const Grid3& grid) {
  const auto any = [](const std::vector<uint8_t>& m) {
    return std::any_of(m.begin(), m.end(), [](uint8_t v) { return v != 0; });
  };
  const bool predicted = any(pred), present = any(label);
  if (predicted && present) return {dice_coefficient(pred, label), hd95(pred, label, grid)};
  if (predicted) return {1.0, 0.0};
  return {0.0, 0.0};
}

std::vector<OrganScore> score_volume(const std::vector<uint8_t>& pred_classes,
                                     const std::vector<uint8_t>& label_classes, const Grid3& grid,
                                     int num_classes) {
  if (pred_classes.size() != label_classes.size() ||
      static_cast<int64_t>(pred_classes.size()) != grid.voxels()) {
    throw Error("score volume: prediction (" + std::to_string(pred_classes.size()) +
                " voxels) and label (" + std::to_string(label_classes.size()) +
                " voxels) must both fill the grid of " + std::to_string(grid.voxels()));
  }
  std::vector<OrganScore> scores;
  std::vector<uint8_t> pred(pred_classes.size()), label(label_classes.size());
  for (int c = 1; c < num_classes; ++c) {
    for (size_t i = 0; i < pred.size(); ++i) {
      pred[i] = pred_classes[i] == c;
      label[i] = label_classes[i] == c;
    }
    scores.push_back(score_organ(pred, label, grid));
  }
  return scores;
}

VolumeSummary summarize_volumes(const std::vector<std::vector<OrganScore>>& volumes) {
  if (volumes.empty() || volumes[0].empty()) {
    throw Error("summarize volumes: no volumes or no organs to average");
  }
  const size_t organs = volumes[0].size();
  VolumeSummary s;
  s.per_organ.assign(organs, {});
  for (const auto& v : volumes) {
    if (v.size() != organs) {
      throw Error("summarize volumes: a volume has " + std::to_string(v.size()) +
                  " organ scores, the first has " + std::to_string(organs));
    }
    for (size_t o = 0; o < organs; ++o) {
      s.per_organ[o].dice += v[o].dice;
      s.per_organ[o].hd95 += v[o].hd95;
    }
  }
  const auto n = static_cast<double>(volumes.size());
  for (auto& o : s.per_organ) {
    o.dice /= n;
    o.hd95 /= n;
    s.mean.dice += o.dice;
    s.mean.hd95 += o.hd95;
  }
  s.mean.dice /= static_cast<double>(organs);
  s.mean.hd95 /= static_cast<double>(organs);
  return s;
}

}  // namespace vmunet
