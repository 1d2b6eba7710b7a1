// The SS2D epilogue: the four scan directions merged back into row-major positions, then
// LayerNorm over the channels and the SiLU gate of the second in_proj half,
//   out[b, h, w, :] = LayerNorm(y0 + y1 + y2ᵀ + y3ᵀ)[b, h, w, :] · silu(z[b, h, w, :]),
// where y0, y1 are positions in row-major order and y2, y3 in column-major order (SS2D's scan
// groups, ss2d.cpp). On CUDA two kernels replace the sum, transposes, layout copies, LayerNorm,
// SiLU and product: the merge into (position, channel) rows (ss2d_epilogue.cu) and the gated
// LayerNorm (layer_norm.h); only the merged sum and LayerNorm's statistics are kept for
// backward. Elsewhere the same maths runs as LibTorch ops.
#pragma once

#include <torch/types.h>

namespace vmunet {

// ys (B, 4, D, H·W) in scan-group order -> (B, D, H, W): the directions summed, row-major.
torch::Tensor merge_directions(const torch::Tensor& ys, int64_t height, int64_t width);

// ys (B, 4, D, H·W); z (B, H, W, D), channels contiguous (a chunk of in_proj's output will do);
// weight, bias (D) -> (B, H, W, D). Differentiable in ys, z, weight and bias. The CUDA path
// takes float32 or bfloat16 ys and z and float32 weight and bias, and returns z's dtype.
torch::Tensor ss2d_epilogue(const torch::Tensor& ys, const torch::Tensor& z,
                            const torch::Tensor& weight, const torch::Tensor& bias, double eps);

// The same as LibTorch ops, on any device: the CPU path and the fused path's reference.
torch::Tensor ss2d_epilogue_composed(const torch::Tensor& ys, const torch::Tensor& z,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     double eps);

}  // namespace vmunet
