// Analytic cost of one VM-UNet forward pass on one image, stage by stage, with each kind of work
// counted separately so that any convention can be assembled from the parts:
//   - multiply-adds of Conv2d and nn.Linear layers (one per weight use, biases not counted);
//   - multiply-adds of SS2D's x_proj and dt_proj (einsums over raw parameters in the official
//   code);
//   - elements normalised by LayerNorm;
//   - the selective scan: 9 FLOPs per (channel, position, state) for the S6 recurrence
//     (exp(δA), δ·B·u, h update, C·h accumulation) plus 1 per (channel, position) for D·u,
//     over the 4·d_inner channels of the four directions (VMamba's flops_selective_scan_fn).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace vmunet {

struct StageCost {
  std::string name;                          // patch_embed, layers.<i>, layers_up.<i>, final
  std::array<int64_t, 3> input{}, output{};  // (H, W, C), channels last
  double linear_macs = 0, proj_macs = 0, norm_elements = 0, scan_flops = 0;

  double macs() const { return linear_macs + proj_macs; }
  // The paper's GFLOPs (Table V) come from thop's profile in the official repo: it sees the Conv2d,
  // Linear and LayerNorm modules (4 per normalised element) but not the einsum projections or the
  // scan. This reproduces Table V's 4.11 / 4.35 / 4.81 / 5.27 / 7.56 at 256×256.
  double paper_flops() const { return linear_macs + 4 * norm_elements; }
};

// One entry per stage in execution order. Throws vmunet::Error unless height and width are
// positive multiples of config.size_multiple().
std::vector<StageCost> model_cost(const ModelConfig& config, int64_t height, int64_t width);

// The sum of all stages, named "total" (input of the first, output of the last).
StageCost total_cost(const std::vector<StageCost>& stages);

}  // namespace vmunet
