// A per-group matrix product over a batch, as SS2D's x_proj needs it: one weight per group (scan
// plane), shared by every batch element.
//
// torch::matmul broadcasts the weight and runs a bmm of batch × groups small products, and
// LibTorch's CPU bmm loops over them with a select and a GEMM call each: on the quickstart model
// that loop (with the Δ projection's, now inside the CPU scan) was a quarter of a CPU training
// step. On the CPU this folds the batch into the columns instead, one GEMM per group, for two
// permuting copies; elsewhere it is plain matmul.
#pragma once

#include <torch/types.h>

namespace vmunet {

// w (G, M, K), x (B, G, K, L) → (B, G, M, L): w[g] · x[b, g]. Differentiable.
torch::Tensor grouped_matmul(const torch::Tensor& w, const torch::Tensor& x);

}  // namespace vmunet
