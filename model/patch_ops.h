// The resolution-changing modules of VM-UNet, channels-last (B, H, W, C) in and out.
#pragma once

#include <torch/nn.h>

namespace vmunet {

// Conv2d(in, C, 4, stride 4) -> NHWC -> LayerNorm(C). (B, 3, H, W) -> (B, H/4, W/4, C). The
// convolution's patches do not overlap, so it runs as one matrix product of every patch's
// (channel, row, column) values with the flattened kernel, which writes channels-last directly:
// as a convolution it wrote NCHW for a permuting copy, with a separate bias pass.
class PatchEmbed2DImpl : public torch::nn::Module {
 public:
  PatchEmbed2DImpl(int64_t in_chans, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(PatchEmbed2D);

// 2×2 phases concatenated as (0,0), (1,0), (0,1), (1,1) (odd sizes cropped, as the official code
// does) -> LayerNorm(4d) -> Linear(4d -> 2d).
class PatchMerging2DImpl : public torch::nn::Module {
 public:
  explicit PatchMerging2DImpl(int64_t dim);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear reduction{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(PatchMerging2D);

// Linear(in -> scale²·out, no bias) -> each token's channels as a scale×scale grid of `out`
// channels (index (p1·scale + p2)·out + c) -> LayerNorm(out). The decoder uses scale 2 with
// in = 2·out; the final projection scale 4 with out = in / 4.
class PatchExpandImpl : public torch::nn::Module {
 public:
  PatchExpandImpl(int64_t in_dim, int64_t out_dim, int64_t scale);
  // (B, H, W, in) -> (B, H·scale, W·scale, out).
  torch::Tensor forward(const torch::Tensor& x);
  // The same normalised tokens before they are laid out on the finer grid: (B, H, W, scale,
  // scale, out). LayerNorm, and any per-token map after it, commutes with that layout; the final
  // projection runs its 1×1 convolution first and permutes only the class maps.
  torch::Tensor forward_tokens(const torch::Tensor& x);
  int64_t out_dim, scale;
  torch::nn::Linear expand{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  // expand(x) as (B, H, W, scale, scale, out), before the LayerNorm.
  torch::Tensor expanded(const torch::Tensor& x);
};
TORCH_MODULE(PatchExpand);

}  // namespace vmunet
