// The Synapse metrics: per test volume and organ, Dice and HD95 in 3D (unit spacing), with
// TransUNet's edge cases, then the means the paper reports.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics/distance_transform.h"

namespace vmunet {

struct OrganScore {
  double dice = 0;
  double hd95 = 0;
};

// medpy.metric.binary.dc: 2·|A ∩ B| / (|A| + |B|) over nonzero voxels; 0 when both are empty.
double dice_coefficient(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// TransUNet's calculate_metric_percase for one organ of one volume (binary masks, nonzero = in):
// prediction and label both non-empty → (Dice, HD95); predicted but absent from the label →
// (1, 0); otherwise (nothing predicted) → (0, 0).
OrganScore score_organ(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& label,
                       const Grid3& grid);

// score_organ for each class c = 1 … num_classes − 1 of two class-id volumes (prediction ==
// c against label == c); element c − 1 holds organ c (Synapse: aorta, gallbladder, kidney L,
// kidney R, liver, pancreas, spleen, stomach).
std::vector<OrganScore> score_volume(const std::vector<uint8_t>& pred_classes,
                                     const std::vector<uint8_t>& label_classes, const Grid3& grid,
                                     int num_classes);

struct VolumeSummary {
  std::vector<OrganScore> per_organ;  // mean over volumes, per organ
  OrganScore mean;                    // mean of per_organ over organs: the paper's DSC and HD95
};

// Means as TransUNet's test loop takes them: every volume counts (edge-case zeros included).
// All volumes must score the same organs; throws vmunet::Error otherwise or when empty.
VolumeSummary summarize_volumes(const std::vector<std::vector<OrganScore>>& volumes);

}  // namespace vmunet
