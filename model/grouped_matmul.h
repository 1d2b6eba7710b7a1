// Per-group matrix products over a batch, as SS2D's projections need them: one weight per group
// (scan direction or plane), shared by every batch element.
//
// torch::matmul broadcasts the weight and runs a bmm of batch × groups small products, and
// LibTorch's CPU bmm loops over them with a select and a GEMM call each: on the quickstart model
// that loop was a quarter of a CPU training step. On the CPU these fold the batch into the
// columns instead, one GEMM per group, for two permuting copies; elsewhere they are plain matmul.
#pragma once

#include <torch/types.h>

namespace vmunet {

// w (G, M, K), x (B, G, K, L) → (B, G, M, L): w[g] · x[b, g]. Differentiable.
torch::Tensor grouped_matmul(const torch::Tensor& w, const torch::Tensor& x);

// a (B, G, M, L), x (B, G, K, L) → (G, M, K): Σ_b a[b, g] · x[b, g]ᵀ (a weight's gradient).
torch::Tensor grouped_matmul_nt_sum(const torch::Tensor& a, const torch::Tensor& x);

}  // namespace vmunet
