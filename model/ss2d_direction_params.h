// SS2D's per-direction scan parameters in the order the scan runs its groups. SS2D keeps them by
// direction k (0 row-major, 1 column-major, 2 and 3 the same reversed: the official layout); the
// scan runs group g = 2·plane + reversed, i.e. k = 0, 2, 1, 3 (ss2d.cpp says why). The exchange
// of k's two factors is its own inverse, so the same permutation maps gradients back.
//
// On CUDA one kernel writes all four tensors (and A = −exp(A_log)) and one kernel maps their
// gradients back: LibTorch's permuting copies, exp and negation were seven launches of 2-3 µs each
// way per SS2D block (about 0.3 ms of an fp32 inference pass on an H200). Elsewhere LibTorch's
// operations, as before.
#pragma once

#include <torch/types.h>

namespace vmunet {

// t (4, ...) in direction order → the same in group order (rows k = 0, 2, 1, 3).
torch::Tensor directions_by_group(const torch::Tensor& t);

struct ScanDirectionParams {
  torch::Tensor A;           // (4·D, N) = −exp(A_logs), group order
  torch::Tensor dt_w;        // (4, D, R)
  torch::Tensor D;           // (4·D)
  torch::Tensor delta_bias;  // (4·D)
};

// A_logs (4·D, N), dt_projs_weight (4, D, R), Ds (4·D), dt_projs_bias (4, D), float32, in
// direction order → the scan's parameters in group order. Differentiable in all four.
ScanDirectionParams ss2d_direction_params(const torch::Tensor& A_logs,
                                          const torch::Tensor& dt_projs_weight,
                                          const torch::Tensor& Ds,
                                          const torch::Tensor& dt_projs_bias);

}  // namespace vmunet
