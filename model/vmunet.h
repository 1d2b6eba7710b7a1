// VM-UNet (DESIGN §2): patch embedding, four VSS encoder stages with patch merging, four decoder
// stages with patch expanding and additive skips, and the 4× final projection. Parameter names are
// the official state_dict keys, so official and VMamba checkpoints load by name.
#pragma once

#include <torch/nn.h>

#include <vector>

#include "model/model_config.h"
#include "model/patch_ops.h"
#include "model/vss_block.h"

namespace vmunet {

// Stochastic-depth rates: linspace(0, rate, Σ depths) over encoder blocks in order, and the same
// over decoder blocks reversed. Returns one list per stage.
std::vector<std::vector<double>> encoder_drop_path_rates(const ModelConfig& c);
std::vector<std::vector<double>> decoder_drop_path_rates(const ModelConfig& c);

class VMUNetImpl : public torch::nn::Module {
 public:
  explicit VMUNetImpl(const ModelConfig& config);

  // x: (B, in_channels, H, W), H and W multiples of config.size_multiple() -> logits
  // (B, num_classes, H, W): the final 1×1 convolution's output.
  torch::Tensor forward(torch::Tensor x);

  // The 4× final projection: the last decoder stage's (B, H/4, W/4, dims[0]) -> logits (B,
  // num_classes, H, W). final_up's LayerNorm and final_conv's 1×1 convolution both act on each
  // token alone, so they run on the expanded tokens in their (B, H/4, W/4, 4, 4, C) order and
  // only the class maps, not the dims[0] / 4 channels, are permuted onto the full-resolution grid.
  torch::Tensor head(const torch::Tensor& x);

  // sigmoid(logits) for one class, the logits themselves otherwise (as the official model).
  torch::Tensor output(const torch::Tensor& logits) const;

  const ModelConfig& config() const { return config_; }

  // Activation recomputation in every VSS block (train.recompute = blocks): the same gradients
  // for a second forward pass of the blocks and far less memory. Changes no parameter.
  void set_recompute(bool on);

  PatchEmbed2D patch_embed{nullptr};
  torch::nn::ModuleList layers, layers_up;
  PatchExpand final_up{nullptr};
  torch::nn::Conv2d final_conv{nullptr};

 private:
  ModelConfig config_;
};
TORCH_MODULE(VMUNet);

// Σ numel over parameters: the exact count of Table V.
int64_t parameter_count(torch::nn::Module& m);

}  // namespace vmunet
