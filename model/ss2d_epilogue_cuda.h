// The CUDA SS2D direction merge behind ss2d_epilogue (ss2d_epilogue.h); declared and built only
// where LibTorch has CUDA (VMUNET_CUDA). The kernels are in ss2d_epilogue.cu.
#pragma once

#include <torch/types.h>

namespace vmunet {

// ys (B, 4, D, H·W) float32 or bfloat16 -> (B, H, W, D) float32: the directions summed.
torch::Tensor merge_directions_cuda(const torch::Tensor& ys, int64_t height, int64_t width);

// The gradient of that: dmerged (B, H, W, D) -> dys (B, 4, D, H·W) in `dtype`.
torch::Tensor scatter_directions_cuda(const torch::Tensor& dmerged, torch::ScalarType dtype);

}  // namespace vmunet
