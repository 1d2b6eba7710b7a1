// SS2D's prologue on the CPU: SiLU(depthwise k×k convolution + bias), read straight from the
// channels-last in_proj output and written channels-first for the scan.
//
// LibTorch's CPU path needs a permuted copy of the input, runs the convolution through oneDNN
// (whose depthwise backward took 16 ms of a 250 ms quickstart training step for a few MFLOP),
// and then SiLU and its backward as two more passes. Here each batch element is one task: its
// input is transposed once into a zero-padded (C, H + k − 1, W + k − 1) tile, and the stencil,
// bias and SiLU run over it in one pass. The backward recomputes the pre-activation instead of
// keeping it. Per-element sums (dweight, dbias) are kept per batch element and added in batch
// order, so the results do not depend on the thread count.
#pragma once

#include <torch/types.h>

namespace vmunet {

// x (B, H, W, C), its last dimension contiguous (a slice of a wider tensor is fine); weight
// (C, 1, k, k), k odd; bias (C). Returns SiLU(conv) as a contiguous (B, C, H, W) tensor, zero
// padding k / 2 on every side. Differentiable in all three; float or double; CPU only.
torch::Tensor depthwise_conv_silu(const torch::Tensor& x, const torch::Tensor& weight,
                                  const torch::Tensor& bias);

}  // namespace vmunet
