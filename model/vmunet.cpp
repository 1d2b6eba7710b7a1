#include "model/vmunet.h"

#include <torch/torch.h>

#include <numeric>

namespace vmunet {
namespace {

// Splits linspace(0, rate, Σ depths) into consecutive per-stage lists.
std::vector<std::vector<double>> split_linspace(const std::vector<int64_t>& depths, double rate,
                                                bool reversed) {
  const int64_t total = std::accumulate(depths.begin(), depths.end(), int64_t{0});
  // Computed in float32 like torch.linspace(...).item() in the official code.
  auto all = torch::linspace(0.0, rate, total, torch::kFloat);
  if (reversed) all = all.flip(0);
  std::vector<std::vector<double>> out;
  int64_t i = 0;
  for (int64_t d : depths) {
    std::vector<double> stage;
    for (int64_t k = 0; k < d; ++k) stage.push_back(all[i++].item<float>());
    out.push_back(stage);
  }
  return out;
}

}  // namespace

std::vector<std::vector<double>> encoder_drop_path_rates(const ModelConfig& c) {
  return split_linspace(c.depths, c.drop_path_rate, false);
}

std::vector<std::vector<double>> decoder_drop_path_rates(const ModelConfig& c) {
  return split_linspace(c.depths_decoder, c.drop_path_rate, true);
}

VMUNetImpl::VMUNetImpl(const ModelConfig& config) : config_(config) {
  const int64_t S = config.num_stages();
  patch_embed = register_module("patch_embed", PatchEmbed2D(3, config.dims[0]));
  layers = register_module("layers", torch::nn::ModuleList());
  const auto enc_rates = encoder_drop_path_rates(config);
  for (int64_t i = 0; i < S; ++i)
    layers->push_back(VSSLayer(config.dims[i], config.d_state, enc_rates[i], i < S - 1));
  layers_up = register_module("layers_up", torch::nn::ModuleList());
  const auto dec_rates = decoder_drop_path_rates(config);
  for (int64_t i = 0; i < S; ++i)
    layers_up->push_back(VSSLayerUp(config.dims[S - 1 - i], config.d_state, dec_rates[i], i > 0));
  final_up = register_module("final_up", PatchExpand(config.dims[0], config.dims[0] / 4, 4));
  final_conv = register_module("final_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(
                                                 config.dims[0] / 4, config.num_classes, 1)));
}

torch::Tensor VMUNetImpl::forward(torch::Tensor x) {
  const int64_t m = config_.size_multiple();
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config_.in_channels, "VMUNet: input must be (batch, ",
              config_.in_channels, ", H, W), found ", x.sizes());
  TORCH_CHECK(x.size(2) % m == 0 && x.size(3) % m == 0, "VMUNet: input height and width must be ",
              "multiples of ", m, ", found ", x.size(2), "x", x.size(3));
  if (x.size(1) == 1) x = x.repeat({1, 3, 1, 1});

  x = patch_embed->forward(x);
  std::vector<torch::Tensor> skips;  // the input of each encoder stage
  for (auto& layer : *layers) {
    skips.push_back(x);
    x = layer->as<VSSLayer>()->forward(x);
  }
  const int64_t S = config_.num_stages();
  for (int64_t i = 0; i < S; ++i) {
    if (i > 0) x = x + skips[S - i];
    x = layers_up[i]->as<VSSLayerUp>()->forward(x);
  }
  return head(x);
}

torch::Tensor VMUNetImpl::head(const torch::Tensor& x) {
  const auto& conv = final_conv->weight;
  const auto logits = torch::linear(final_up->forward_tokens(x),
                                    conv.view({conv.size(0), conv.size(1)}), final_conv->bias);
  const int64_t B = logits.size(0), H = logits.size(1), W = logits.size(2), s = logits.size(3);
  return logits.permute({0, 5, 1, 3, 2, 4}).reshape({B, logits.size(5), H * s, W * s});
}

void VMUNetImpl::set_recompute(bool on) {
  for (const auto& m : modules(/*include_self=*/false))
    if (auto* block = m->as<VSSBlockImpl>()) block->recompute = on;
}

torch::Tensor VMUNetImpl::output(const torch::Tensor& logits) const {
  return config_.num_classes == 1 ? torch::sigmoid(logits) : logits;
}

int64_t parameter_count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace vmunet
