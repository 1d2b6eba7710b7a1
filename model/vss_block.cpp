#include "model/vss_block.h"

#include <torch/torch.h>

#include "model/layer_norm.h"
#include "model/recompute.h"

namespace vmunet {

torch::Tensor drop_path(const torch::Tensor& x, double rate, bool training) {
  if (!training || rate <= 0.0) return x;
  const double keep = 1.0 - rate;
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  auto mask = torch::empty(shape, x.options()).bernoulli_(keep);
  return x * mask / keep;
}

VSSBlockImpl::VSSBlockImpl(int64_t dim, int64_t d_state, double rate) : drop_path_rate(rate) {
  ln_1 =
      register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  self_attention = register_module("self_attention", SS2D(dim, d_state));
}

torch::Tensor VSSBlockImpl::forward(const torch::Tensor& x) {
  // `self`: a recomputing graph calls the branch in its backward pass, which may outlive the model.
  auto branch = [self = shared_from_this(), this](const torch::Tensor& in) {
    return drop_path(self_attention->forward(layer_norm(in, ln_1)), drop_path_rate, is_training());
  };
  // The residual sum stays outside the recomputed part, so that x's gradient adds its terms in the
  // same order as without recomputation (and so the same bits).
  return x + (recompute ? recomputed(branch, x) : branch(x));
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
