// The official initialisation (DESIGN §2), shared by the modules that need it.
#pragma once

#include <torch/types.h>

namespace vmunet::init {

// timm's trunc_normal_: normal(mean, std) truncated to [a, b] (absolute bounds), by inverse CDF.
void trunc_normal_(torch::Tensor t, double std, double a = -2.0, double b = 2.0);

// Linear weights trunc-normal std 0.02, biases 0 (the official `_init_weights`).
void linear_(torch::Tensor weight, torch::Tensor bias = {});

}  // namespace vmunet::init
