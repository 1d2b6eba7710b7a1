#include "model/vss_block.h"

#include <torch/torch.h>

#include "model/layer_norm.h"
#include "model/recompute.h"

namespace vmunet {

torch::Tensor add_drop_path(const torch::Tensor& x, const torch::Tensor& branch, double rate,
                            bool training) {
  if (!training || rate <= 0.0) return x + branch;
  // One pass over the activations each way, where x + branch·mask / keep took three forward and
  // two backward. The per-sample scale is formed as timm's drop_path forms it: mask / keep.
  const double keep = 1.0 - rate;
  std::vector<int64_t> shape(branch.dim(), 1);
  shape[0] = branch.size(0);
  auto scale = torch::empty(shape, branch.options()).bernoulli_(keep).div_(keep);
  return torch::addcmul(x, branch, scale);
}

VSSBlockImpl::VSSBlockImpl(int64_t dim, int64_t d_state, double rate) : drop_path_rate(rate) {
  ln_1 =
      register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  self_attention = register_module("self_attention", SS2D(dim, d_state));
}

torch::Tensor VSSBlockImpl::body(const torch::Tensor& x) {
  // x feeds the LayerNorm and the residual sum; the LayerNorm's backward adds both gradients.
  const auto [normed, residual] = layer_norm_and_input(x, ln_1);
  // Without drop path (inference, or a rate of 0) out_proj's GEMM adds the residual.
  if (!is_training() || drop_path_rate <= 0.0)
    return self_attention->forward_plus(normed, residual);
  return add_drop_path(residual, self_attention->forward(normed), drop_path_rate, true);
}

torch::Tensor VSSBlockImpl::forward(const torch::Tensor& x) {
  if (!recompute) return body(x);
  // The whole block is recomputed, residual sum included, so that x's gradient comes from the
  // same operations in the same order as without recomputation (and so the same bits); the
  // recomputation draws drop path's mask again from the replayed generator. The graph holds the
  // block: it calls the body again in its backward pass, which may come after the model is gone.
  auto self = std::static_pointer_cast<VSSBlockImpl>(shared_from_this());
  return recomputed([self](const torch::Tensor& in) { return self->body(in); }, x);
}

VSSLayerImpl::VSSLayerImpl(int64_t dim, int64_t d_state, const std::vector<double>& rates,
                           bool with_downsample) {
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (double r : rates) blocks->push_back(VSSBlock(dim, d_state, r));
  if (with_downsample) downsample = register_module("downsample", PatchMerging2D(dim));
}

torch::Tensor VSSLayerImpl::forward(torch::Tensor x) {
  for (auto& b : *blocks) x = b->as<VSSBlock>()->forward(x);
  return downsample ? downsample->forward(x) : x;
}

VSSLayerUpImpl::VSSLayerUpImpl(int64_t dim, int64_t d_state, const std::vector<double>& rates,
                               bool with_upsample) {
  if (with_upsample) upsample = register_module("upsample", PatchExpand(2 * dim, dim, 2));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (double r : rates) blocks->push_back(VSSBlock(dim, d_state, r));
}

torch::Tensor VSSLayerUpImpl::forward(torch::Tensor x) {
  if (upsample) x = upsample->forward(x);
  for (auto& b : *blocks) x = b->as<VSSBlock>()->forward(x);
  return x;
}

}  // namespace vmunet
