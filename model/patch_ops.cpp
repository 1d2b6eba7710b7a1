#include "model/patch_ops.h"

#include <torch/torch.h>

#include "model/init.h"
#include "model/layer_norm.h"

namespace vmunet {
namespace nn = torch::nn;

namespace {
nn::LayerNorm layer_norm_module(int64_t dim) {
  return nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-5));
}
nn::Linear linear_no_bias(int64_t in, int64_t out) {
  nn::Linear l(nn::LinearOptions(in, out).bias(false));
  init::linear_(l->weight);
  return l;
}
constexpr int64_t kPatch = 4;  // PatchEmbed2D's kernel and stride
}  // namespace

PatchEmbed2DImpl::PatchEmbed2DImpl(int64_t in_chans, int64_t embed_dim) {
  proj = register_module("proj",
                         nn::Conv2d(nn::Conv2dOptions(in_chans, embed_dim, kPatch).stride(kPatch)));
  norm = register_module("norm", layer_norm_module(embed_dim));
}

torch::Tensor PatchEmbed2DImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), C = x.size(1), H = x.size(2) / kPatch, W = x.size(3) / kPatch;
  const auto patches = x.reshape({B, C, H, kPatch, W, kPatch})
                           .permute({0, 2, 4, 1, 3, 5})
                           .reshape({B, H, W, C * kPatch * kPatch});
  const auto& kernel = proj->weight;
  return layer_norm(torch::linear(patches, kernel.view({kernel.size(0), -1}), proj->bias), norm);
}

PatchMerging2DImpl::PatchMerging2DImpl(int64_t dim) {
  reduction = register_module("reduction", linear_no_bias(4 * dim, 2 * dim));
  norm = register_module("norm", layer_norm_module(4 * dim));
}

torch::Tensor PatchMerging2DImpl::forward(const torch::Tensor& x) {
  // The official code concatenates the four strided phases x[:, r::2, c::2] in the order (r, c) =
  // (0, 0), (1, 0), (0, 1), (1, 1), cropping odd sizes. One permuting copy does the same: its
  // backward is one copy too, where the slices' backward filled and added four full-size tensors.
  const int64_t B = x.size(0), H = x.size(1) / 2, W = x.size(2) / 2, C = x.size(3);
  const auto even = x.slice(1, 0, 2 * H).slice(2, 0, 2 * W);
  auto merged =
      even.reshape({B, H, 2, W, 2, C}).permute({0, 1, 3, 4, 2, 5}).reshape({B, H, W, 4 * C});
  return reduction->forward(layer_norm(merged, norm));
}

PatchExpandImpl::PatchExpandImpl(int64_t in_dim, int64_t out_dim_, int64_t scale_)
    : out_dim(out_dim_), scale(scale_) {
  expand = register_module("expand", linear_no_bias(in_dim, scale * scale * out_dim));
  norm = register_module("norm", layer_norm_module(out_dim));
}

torch::Tensor PatchExpandImpl::forward(const torch::Tensor& x) {
  return layer_norm_to_grid(expanded(x), norm);
}

torch::Tensor PatchExpandImpl::forward_tokens(const torch::Tensor& x) {
  return layer_norm(expanded(x), norm);
}

torch::Tensor PatchExpandImpl::expanded(const torch::Tensor& x) {
  return expand->forward(x).view({x.size(0), x.size(1), x.size(2), scale, scale, out_dim});
}

}  // namespace vmunet
