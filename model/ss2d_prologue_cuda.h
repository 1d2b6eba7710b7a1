// The CUDA SS2D prologue behind ss2d_prologue (ss2d_prologue.h); declared and built only where
// LibTorch has CUDA (VMUNET_CUDA). The kernels are in ss2d_prologue.cu.
#pragma once

#include <torch/types.h>

#include <vector>

namespace vmunet {

// x (B, H, W, C) float32 or bfloat16, channels contiguous; weight (C, 1, 3, 3) and bias (C)
// float32 -> planes (B, 2, C, H·W) in x's dtype.
torch::Tensor ss2d_prologue_fwd_cuda(const torch::Tensor& x, const torch::Tensor& weight,
                                     const torch::Tensor& bias);

// The gradients {dx (B, H, W, C) in x's dtype; dweight; dbias} from dplanes. dx is written into
// dx_into where given (x's shape and dtype, channels contiguous), else into a new tensor.
std::vector<torch::Tensor> ss2d_prologue_bwd_cuda(const torch::Tensor& dplanes,
                                                  const torch::Tensor& x,
                                                  const torch::Tensor& weight,
                                                  const torch::Tensor& bias,
                                                  const torch::Tensor& dx_into = {});

}  // namespace vmunet
