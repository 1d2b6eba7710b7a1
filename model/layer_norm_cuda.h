// The CUDA LayerNorm behind layer_norm.h; declared and built only where LibTorch has CUDA
// (VMUNET_CUDA). The kernels are in layer_norm.cu.
#pragma once

#include <torch/types.h>

#include <vector>

namespace vmunet {

struct LayerNormForward {
  torch::Tensor out;   // (rows, channels); z's dtype where gated, else float32
  torch::Tensor mean;  // (rows) float32
  torch::Tensor rstd;
};

// x (rows, channels) float32, contiguous, not empty (layer_norm.cpp takes LibTorch's path there); z
// (optional: undefined for none) (rows, channels) float32 or bfloat16 with contiguous channels;
// weight and bias (channels) float32; one CUDA device.
LayerNormForward layer_norm_fwd_cuda(const torch::Tensor& x, const torch::Tensor& z,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     double eps);

// Gradients {dx (float32), dz (z's dtype; undefined without z), dweight, dbias}.
std::vector<torch::Tensor> layer_norm_bwd_cuda(const torch::Tensor& dout, const torch::Tensor& x,
                                               const torch::Tensor& mean, const torch::Tensor& rstd,
                                               const torch::Tensor& z, const torch::Tensor& weight,
                                               const torch::Tensor& bias);

}  // namespace vmunet
