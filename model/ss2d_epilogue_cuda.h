// The CUDA SS2D epilogue behind ss2d_epilogue (ss2d_epilogue.h); declared and built only where
// LibTorch has CUDA (VMUNET_CUDA). The kernels are in ss2d_epilogue.cu.
#pragma once

#include <torch/types.h>

#include <vector>

namespace vmunet {

struct Ss2dEpilogueForward {
  torch::Tensor out;     // (B, H, W, D) in ys's dtype
  torch::Tensor merged;  // (B, H, W, D) float32: the four directions summed
  torch::Tensor mean;    // (B, H, W) float32, LayerNorm's statistics
  torch::Tensor rstd;
};

// Shapes as in ss2d_epilogue.h, all on one CUDA device. ys and z float32 or bfloat16, weight and
// bias float32.
Ss2dEpilogueForward ss2d_epilogue_fwd_cuda(const torch::Tensor& ys, const torch::Tensor& z,
                                           const torch::Tensor& weight, const torch::Tensor& bias,
                                           double eps);

// Gradients {dys, dz, dweight, dbias}: dys in `ys_dtype`, dz in z's, the others float32.
std::vector<torch::Tensor> ss2d_epilogue_bwd_cuda(
    const torch::Tensor& dout, const Ss2dEpilogueForward& saved, const torch::Tensor& z,
    const torch::Tensor& weight, const torch::Tensor& bias, torch::ScalarType ys_dtype);

}  // namespace vmunet
