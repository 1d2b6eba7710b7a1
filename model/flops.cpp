#include "model/flops.h"

#include "common/error.h"

namespace vmunet {
namespace {

// Adds the cost of one VSS block on an h×w×d map: ln_1, SS2D (in_proj, depthwise 3×3 conv,
// x_proj, dt_proj, scan, out_norm, out_proj).
void add_vss_block(StageCost& s, const ModelConfig& c, int64_t h, int64_t w, int64_t d) {
  const double L = static_cast<double>(h * w), di = 2.0 * d, N = static_cast<double>(c.d_state);
  const double R = static_cast<double>((d + 15) / 16), K = 4;
  s.linear_macs += L * d * 2 * di + L * di * 9 + L * di * d;
  s.proj_macs += K * L * di * (R + 2 * N) + K * L * R * di;
  s.norm_elements += L * d + L * di;
  s.scan_flops += 9 * L * K * di * N + L * K * di;
}

}  // namespace

std::vector<StageCost> model_cost(const ModelConfig& c, int64_t height, int64_t width) {
  const int64_t m = c.size_multiple(), S = c.num_stages();
  if (height <= 0 || width <= 0 || height % m != 0 || width % m != 0)
    throw Error("input size " + std::to_string(height) + "x" + std::to_string(width) +
                ": height and width must be positive multiples of " + std::to_string(m) +
                " (patch 4, then " + std::to_string(S - 1) + " halvings)");
  std::vector<StageCost> out;

  StageCost embed{"patch_embed", {height, width, c.in_channels}};  // 1 channel is repeated to 3
  int64_t h = height / 4, w = width / 4, d = c.dims[0];
  embed.linear_macs = static_cast<double>(h * w * d * 3 * 16);
  embed.norm_elements = static_cast<double>(h * w * d);
  embed.output = {h, w, d};
  out.push_back(embed);

  for (int64_t i = 0; i < S; ++i) {
    StageCost s{"layers." + std::to_string(i), {h, w, d}};
    for (int64_t b = 0; b < c.depths[i]; ++b) add_vss_block(s, c, h, w, d);
    if (i < S - 1) {  // patch merging: LayerNorm(4d) -> Linear(4d -> 2d) on the halved map
      h /= 2, w /= 2;
      s.norm_elements += static_cast<double>(h * w * 4 * d);
      s.linear_macs += static_cast<double>(h * w * 4 * d * 2 * d);
      d *= 2;
    }
    s.output = {h, w, d};
    out.push_back(s);
  }

  for (int64_t i = 0; i < S; ++i) {
    StageCost s{"layers_up." + std::to_string(i), {h, w, d}};
    if (i > 0) {  // patch expanding: Linear(2d' -> 4d') per token, then LayerNorm(d') at 2× size
      s.linear_macs += static_cast<double>(h * w * d * 2 * d);
      h *= 2, w *= 2, d /= 2;
      s.norm_elements += static_cast<double>(h * w * d);
    }
    for (int64_t b = 0; b < c.depths_decoder[i]; ++b) add_vss_block(s, c, h, w, d);
    s.output = {h, w, d};
    out.push_back(s);
  }

  // Linear(C -> 4C) per token, 4×4 rearrange to C/4 channels, LayerNorm, 1×1 conv to classes.
  StageCost fin{"final", {h, w, d}};
  fin.linear_macs = static_cast<double>(h * w * d * 4 * d);
  h *= 4, w *= 4;
  fin.norm_elements = static_cast<double>(h * w * (d / 4));
  fin.linear_macs += static_cast<double>(h * w * (d / 4) * c.num_classes);
  fin.output = {h, w, c.num_classes};
  out.push_back(fin);
  return out;
}

StageCost total_cost(const std::vector<StageCost>& stages) {
  StageCost t{"total", stages.front().input, stages.back().output};
  for (const auto& s : stages) {
    t.linear_macs += s.linear_macs;
    t.proj_macs += s.proj_macs;
    t.norm_elements += s.norm_elements;
    t.scan_flops += s.scan_flops;
  }
  return t;
}

}  // namespace vmunet
