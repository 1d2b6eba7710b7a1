// SS2D's prologue: SiLU(depthwise k×k convolution + bias) of the first in_proj half, laid out as
// the two planes the four-direction scan reads (ss2d.cpp):
//   planes[b, 0, c, h·W + w] = planes[b, 1, c, w·H + h] = SiLU(conv(x) + bias)[b, c, h, w].
// On CUDA (k = 3, float32 or bfloat16 x, float32 weight and bias) one kernel reads x in place
// and writes both planes (ss2d_prologue.cu); only x is kept for backward, where the
// pre-activation is recomputed. On the CPU the convolution is depthwise_conv_silu.h; elsewhere
// LibTorch's convolution and SiLU.
#pragma once

#include <torch/types.h>

#include <utility>

namespace vmunet {

// x (B, H, W, C), channels contiguous (a chunk of in_proj's output will do); weight (C, 1, k, k),
// k odd; bias (C) -> planes (B, 2, C, H·W) in x's dtype. Differentiable in all three.
torch::Tensor ss2d_prologue(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias);

// SS2D's use of in_proj's output xz (B, H, W, 2C): {ss2d_prologue(first half), second half (the
// gate)}. On CUDA one autograd node does both, and its backward writes the first half's gradient
// beside the gate's in one (B, H, W, 2C) tensor: autograd's split would concatenate the two in a
// pass of its own (0.1 ms a stage-1 block in fp32 on an H200). Elsewhere xz's two chunks.
std::pair<torch::Tensor, torch::Tensor> ss2d_prologue_and_gate(const torch::Tensor& xz,
                                                               const torch::Tensor& weight,
                                                               const torch::Tensor& bias);

// u (B, C, H, W) -> (B, 2, C, H·W): u row-major, then transposed (the scan's two planes).
torch::Tensor scan_planes(const torch::Tensor& u);

}  // namespace vmunet
