#include "worker/optimizer.h"

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

}  // namespace vmunet
