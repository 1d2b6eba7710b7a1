#include "model/init.h"

#include <torch/torch.h>

#include <cmath>

namespace vmunet::init {

void trunc_normal_(torch::Tensor t, double std, double a, double b) {
  torch::NoGradGuard no_grad;
  auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
  const double lo = cdf(a / std), hi = cdf(b / std);
  t.uniform_(2 * lo - 1, 2 * hi - 1);
  t.erfinv_().mul_(std * std::sqrt(2.0)).clamp_(a, b);
}

void linear_(torch::Tensor weight, torch::Tensor bias) {
  trunc_normal_(weight, 0.02);
  if (bias.defined()) {
    torch::NoGradGuard no_grad;
    bias.zero_();
  }
}

}  // namespace vmunet::init
