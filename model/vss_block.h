// VSS block (x + DropPath(SS2D(LayerNorm(x)))) and the encoder/decoder stages built from it.
#pragma once

#include <torch/nn.h>

#include <vector>

#include "model/patch_ops.h"
#include "model/ss2d.h"

namespace vmunet {

// x + DropPath(branch). Stochastic depth drops the residual branch per sample with probability
// `rate` and scales the kept ones by 1 / (1 − rate) (training only; x + branch otherwise).
torch::Tensor add_drop_path(const torch::Tensor& x, const torch::Tensor& branch, double rate,
                            bool training);

class VSSBlockImpl : public torch::nn::Module {
 public:
  VSSBlockImpl(int64_t dim, int64_t d_state, double drop_path_rate);
  torch::Tensor forward(const torch::Tensor& x);
  // x + DropPath(SS2D(LayerNorm(x))): the block without recomputation, and the part recomputed.
  torch::Tensor body(const torch::Tensor& x);
  double drop_path_rate;
  // Keep only the block's input for the backward pass and run the block again there (recompute.h).
  bool recompute = false;
  torch::nn::LayerNorm ln_1{nullptr};
  SS2D self_attention{nullptr};
};
TORCH_MODULE(VSSBlock);

// Encoder stage: blocks, then (all but the last stage) patch merging.
class VSSLayerImpl : public torch::nn::Module {
 public:
  VSSLayerImpl(int64_t dim, int64_t d_state, const std::vector<double>& drop_path_rates,
               bool downsample);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList blocks;
  PatchMerging2D downsample{nullptr};
};
TORCH_MODULE(VSSLayer);

// Decoder stage: (all but the first stage) patch expanding from 2·dim, then blocks.
class VSSLayerUpImpl : public torch::nn::Module {
 public:
  VSSLayerUpImpl(int64_t dim, int64_t d_state, const std::vector<double>& drop_path_rates,
                 bool upsample);
  torch::Tensor forward(torch::Tensor x);
  PatchExpand upsample{nullptr};
  torch::nn::ModuleList blocks;
};
TORCH_MODULE(VSSLayerUp);

}  // namespace vmunet
