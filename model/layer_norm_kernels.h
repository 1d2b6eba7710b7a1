// The fused LayerNorm's kernels behind layer_norm.h, one forward and one backward per device: the
// CPU ones (layer_norm_cpu.cpp) always, the CUDA ones (layer_norm_cuda.cpp, kernels in
// layer_norm.cu) where LibTorch has CUDA (VMUNET_CUDA).
#pragma once

#include <torch/types.h>

#include <vector>

namespace vmunet {

// PatchExpand's tokens (.., width, scale, scale) written to and read from their (.., scale, width,
// scale) grid rows by the CUDA kernels; scale 0: rows in place.
struct TokenGrid {
  int64_t width = 0, scale = 0;
};

struct LayerNormForward {
  torch::Tensor out;   // (rows, channels); z's dtype where gated, else float32
  torch::Tensor mean;  // (rows) float32
  torch::Tensor rstd;
};

// x (rows, channels) float32 (or, on CUDA, bfloat16), contiguous, not empty (layer_norm.cpp takes
// LibTorch's path there); z
// (optional: undefined for none) (rows, channels) with contiguous channels, float32 (or, on CUDA,
// bfloat16); weight and bias (channels) float32; all on one device.
LayerNormForward layer_norm_fwd_cpu(const torch::Tensor& x, const torch::Tensor& z,
                                    const torch::Tensor& weight, const torch::Tensor& bias,
                                    double eps);
#ifdef VMUNET_CUDA
LayerNormForward layer_norm_fwd_cuda(const torch::Tensor& x, const torch::Tensor& z,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     double eps, TokenGrid grid = {});

#endif

// Gradients {dx (x's dtype), dz (z's dtype; undefined without z), dweight, dbias}. On CUDA,
// dx_add (optional; x's shape and dtype, contiguous) is added to dx by the kernel, and dz takes
// z's place in rows as far apart as z's (layer_norm_cuda.cpp).
std::vector<torch::Tensor> layer_norm_bwd_cpu(const torch::Tensor& dout, const torch::Tensor& x,
                                              const torch::Tensor& mean, const torch::Tensor& rstd,
                                              const torch::Tensor& z, const torch::Tensor& weight,
                                              const torch::Tensor& bias);
#ifdef VMUNET_CUDA
std::vector<torch::Tensor> layer_norm_bwd_cuda(const torch::Tensor& dout, const torch::Tensor& x,
                                               const torch::Tensor& mean, const torch::Tensor& rstd,
                                               const torch::Tensor& z, const torch::Tensor& weight,
                                               const torch::Tensor& bias, TokenGrid grid = {},
                                               const torch::Tensor& dx_add = {});
#endif

}  // namespace vmunet
