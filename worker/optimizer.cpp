#include "worker/optimizer.h"

#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>

namespace vmunet {

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params,
                                                const AdamWConfig& c) {
  auto options = torch::optim::AdamWOptions(c.lr)
                     .betas({c.beta1, c.beta2})
                     .eps(c.eps)
                     .weight_decay(c.weight_decay)
                     .amsgrad(false);
  return std::make_unique<torch::optim::AdamW>(params, options);
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

#if defined(VMUNET_CUDA) && TORCH_VERSION_MAJOR >= 2
#define VMUNET_FUSED_ADAMW 1
#endif

bool fused_adamw_available(const torch::Device& device) {
#ifdef VMUNET_FUSED_ADAMW
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

#ifdef VMUNET_FUSED_ADAMW
namespace {

// LibTorch keys optimizer state by the parameter's TensorImpl: a string of its address up to
// 1.x, the address itself since. Follow whichever the map uses.
template <typename State>
auto state_key(const State&, const torch::Tensor& p) {
  using Key = typename std::decay_t<State>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream s;
    s << p.unsafeGetTensorImpl();
    return s.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

torch::optim::AdamWParamState& state_of(torch::optim::AdamW& opt, const torch::Tensor& p) {
  auto& states = opt.state();
  const auto key = state_key(states, p);
  auto it = states.find(key);
  if (it == states.end()) {
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(0);
    s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    it = states.emplace(key, std::move(s)).first;
  }
  return static_cast<torch::optim::AdamWParamState&>(*it->second);
}

void fused_group_step(torch::optim::AdamW& opt, torch::optim::OptimizerParamGroup& group) {
  const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  int64_t step = -1;
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    auto& s = state_of(opt, p);
    s.step(s.step() + 1);
    TORCH_CHECK(step < 0 || step == s.step(),
                "adamw_step: parameters of one group are at different steps (", step, " and ",
                s.step(), ")");
    step = s.step();
    params.push_back(p);
    grads.push_back(p.grad());
    exp_avgs.push_back(s.exp_avg());
    exp_avg_sqs.push_back(s.exp_avg_sq());
  }
  if (params.empty()) return;
  // The fused kernel reads each tensor's step from its own one-element tensor.
  auto steps_flat =
      torch::full({int64_t(params.size())}, double(step), params[0].options().dtype(torch::kFloat));
  std::vector<torch::Tensor> steps;
  steps.reserve(params.size());
  for (int64_t i = 0; i < int64_t(params.size()); ++i) steps.push_back(steps_flat[i]);
  const auto [beta1, beta2] = o.betas();
  at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, at::TensorList{}, steps, o.lr(), beta1,
                    beta2, o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false);
}

}  // namespace
#endif

void adamw_step(torch::optim::AdamW& optimizer, bool fused) {
#ifdef VMUNET_FUSED_ADAMW
  bool fusable = true;
  for (auto& group : optimizer.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    fusable = fusable && !o.amsgrad();
    for (auto& p : group.params()) fusable = fusable && p.is_cuda();
  }
  if (fused && fusable) {
    torch::NoGradGuard no_grad;
    for (auto& group : optimizer.param_groups()) fused_group_step(optimizer, group);
    return;
  }
#endif
  (void)fused;
  optimizer.step();
}

}  // namespace vmunet
