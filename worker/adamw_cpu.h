// AdamW's update for one CPU tensor in a single pass over its elements. LibTorch's optimizer
// runs about ten element-wise operations per parameter tensor, each with its own dispatch and
// temporary; the quickstart model has 222 small tensors, so on the CPU that loop cost more than
// the update itself (about a tenth of a training step).
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace vmunet {

struct AdamWCoefficients {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // after this update's increment: 1 for the first
};

// p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
// p ← p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps), element by element, in p's dtype
// (float or double). p, m and v contiguous CPU tensors of one shape; g of that shape.
void adamw_update_cpu(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v,
                      const AdamWCoefficients& c);

}  // namespace vmunet
