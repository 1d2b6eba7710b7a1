// LayerNorm over the last dimension as torch::nn::LayerNorm computes it, optionally gated by the
// SiLU of a second tensor:  out = LayerNorm(x) · silu(z).
// On CUDA (with float32 weight and bias) one kernel does each pass, a warp per row or, for rows of
// at most 32 channels, a quarter of one (layer_norm.cu): LibTorch's kernels spend a block per row,
// a poor fit for the network's 96-channel rows, and the gate would cost three more passes. On the
// CPU, for float32, one pass per row likewise (layer_norm_cpu.cpp). Elsewhere (double, other
// devices) LibTorch's ops run. As under autocast, x is normalised in float32; the result is
// float32, or z's dtype where gated.
#pragma once

#include <torch/nn/modules/normalization.h>
#include <torch/types.h>

#include <utility>

namespace vmunet {

torch::Tensor layer_norm(const torch::Tensor& x, const torch::nn::LayerNorm& norm);

// {layer_norm(x, norm), x} for an x that has a second use (a VSS block's input feeds its
// LayerNorm and the residual sum). On CUDA the second output is x passed through the LayerNorm's
// autograd node, whose backward kernel adds its gradient into dx: autograd would otherwise add the
// two gradients in a pass of its own. Elsewhere the two gradients are added by one autograd node
// in the same order: x's gradient then has the same sums with and without recomputation.
std::pair<torch::Tensor, torch::Tensor> layer_norm_and_input(const torch::Tensor& x,
                                                             const torch::nn::LayerNorm& norm);

// LayerNorm of PatchExpand's tokens (B, H, W, s, s, C) laid out on their grid: (B, H·s, W·s, C).
// On CUDA the kernels write (and read the gradient of) each row at its grid position, with no
// permuting copy either way.
torch::Tensor layer_norm_to_grid(const torch::Tensor& tokens, const torch::nn::LayerNorm& norm);

// z has x's shape, its channels contiguous (a chunk of a wider tensor will do).
torch::Tensor layer_norm_gate(const torch::Tensor& x, const torch::Tensor& z,
                              const torch::Tensor& weight, const torch::Tensor& bias, double eps);

// LibTorch's ops, on any device: the CPU path and the CUDA kernels' reference. z may be undefined.
torch::Tensor layer_norm_composed(const torch::Tensor& x, const torch::Tensor& z,
                                  const torch::Tensor& weight, const torch::Tensor& bias,
                                  double eps);

}  // namespace vmunet
