#include "worker/optimizer.h"

#include <torch/version.h>

#include <sstream>
#include <string>
#include <type_traits>

#include "worker/adamw_cpu.h"

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
  return device.is_cpu() || device.is_cuda();
#else
  return device.is_cpu();
#endif
}

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

// Every parameter with a gradient, with its state, its step advanced by one.
struct GroupStep {
  std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  int64_t step = -1;
};
GroupStep advance(torch::optim::AdamW& opt, torch::optim::OptimizerParamGroup& group) {
  GroupStep g;
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    auto& s = state_of(opt, p);
    s.step(s.step() + 1);
    TORCH_CHECK(g.step < 0 || g.step == s.step(),
                "adamw_step: parameters of one group are at different steps (", g.step, " and ",
                s.step(), ")");
    g.step = s.step();
    g.params.push_back(p);
    g.grads.push_back(p.grad());
    g.exp_avgs.push_back(s.exp_avg());
    g.exp_avg_sqs.push_back(s.exp_avg_sq());
  }
  return g;
}

void cpu_group_step(torch::optim::AdamW& opt, torch::optim::OptimizerParamGroup& group) {
  const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
  auto g = advance(opt, group);
  const auto [beta1, beta2] = o.betas();
  const AdamWCoefficients c{o.lr(), beta1, beta2, o.eps(), o.weight_decay(), g.step};
  for (size_t i = 0; i < g.params.size(); ++i)
    adamw_update_cpu(g.params[i], g.grads[i], g.exp_avgs[i], g.exp_avg_sqs[i], c);
}

#ifdef VMUNET_FUSED_ADAMW
void cuda_group_step(torch::optim::AdamW& opt, torch::optim::OptimizerParamGroup& group) {
  const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
  auto g = advance(opt, group);
  if (g.params.empty()) return;
  // The fused kernel reads each tensor's step from its own one-element tensor.
  auto steps_flat = torch::full({int64_t(g.params.size())}, double(g.step),
                                g.params[0].options().dtype(torch::kFloat));
  std::vector<torch::Tensor> steps;
  steps.reserve(g.params.size());
  for (int64_t i = 0; i < int64_t(g.params.size()); ++i) steps.push_back(steps_flat[i]);
  const auto [beta1, beta2] = o.betas();
  at::_fused_adamw_(g.params, g.grads, g.exp_avgs, g.exp_avg_sqs, at::TensorList{}, steps, o.lr(),
                    beta1, beta2, o.weight_decay(), o.eps(), /*amsgrad=*/false,
                    /*maximize=*/false);
}
#endif

enum class Where { cpu, cuda, mixed };
Where where_params_are(torch::optim::AdamW& optimizer) {
  bool cpu = true, cuda = true;
  for (auto& group : optimizer.param_groups()) {
    if (static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad())
      return Where::mixed;
    for (auto& p : group.params()) {
      cpu = cpu && p.is_cpu() && p.is_contiguous() && p.is_floating_point();
      cuda = cuda && p.is_cuda();
    }
  }
  return cpu ? Where::cpu : cuda ? Where::cuda : Where::mixed;
}

}  // namespace

void adamw_step(torch::optim::AdamW& optimizer, bool fused) {
  const Where where = fused ? where_params_are(optimizer) : Where::mixed;
  torch::NoGradGuard no_grad;
  if (where == Where::cpu) {
    for (auto& group : optimizer.param_groups()) cpu_group_step(optimizer, group);
    return;
  }
#ifdef VMUNET_FUSED_ADAMW
  if (where == Where::cuda) {
    for (auto& group : optimizer.param_groups()) cuda_group_step(optimizer, group);
    return;
  }
#endif
  optimizer.step();
}

}  // namespace vmunet
