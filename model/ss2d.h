// SS2D: the 2D selective-scan mixer of a VSS block (DESIGN §2). Member names equal the official
// state_dict keys (`in_proj`, `conv2d`, `x_proj_weight`, `dt_projs_weight`, ...).
#pragma once

#include <torch/nn.h>

namespace vmunet {

class SS2DImpl : public torch::nn::Module {
 public:
  SS2DImpl(int64_t d_model, int64_t d_state);

  // x: (B, H, W, d_model) channels-last -> same shape.
  torch::Tensor forward(const torch::Tensor& x);
  // residual + forward(x), residual x's shape. Where the two share a dtype (not under bf16
  // autocast, which keeps the residual stream in float32), out_proj's GEMM adds the residual as
  // it writes (C = residual + y·Wᵀ): no pass of its own over the activations.
  torch::Tensor forward_plus(const torch::Tensor& x, const torch::Tensor& residual);

  // The four-direction scan on the conv output's two planes (ss2d_prologue.h): (B, 2, d_inner,
  // H·W) -> (B, 4, d_inner, H·W), each direction in its own scan order (ss2d_epilogue.h says
  // which).
  torch::Tensor scan_directions(const torch::Tensor& planes);
  // The directions of the conv output x (B, d_inner, H, W) summed and brought back to row-major
  // order: (B, d_inner, H, W).
  torch::Tensor scan_2d(const torch::Tensor& x);

  // Everything before out_proj: (B, H, W, d_model) -> (B, H, W, d_inner).
  torch::Tensor mix(const torch::Tensor& x);

  int64_t d_model, d_inner, d_state, dt_rank;
  torch::nn::Linear in_proj{nullptr};
  torch::nn::Conv2d conv2d{nullptr};
  torch::Tensor x_proj_weight;    // (4, dt_rank + 2·d_state, d_inner)
  torch::Tensor dt_projs_weight;  // (4, d_inner, dt_rank)
  torch::Tensor dt_projs_bias;    // (4, d_inner)
  torch::Tensor A_logs;           // (4·d_inner, d_state); A = -exp(A_logs)
  torch::Tensor Ds;               // (4·d_inner)
  torch::nn::LayerNorm out_norm{nullptr};
  torch::nn::Linear out_proj{nullptr};
};
TORCH_MODULE(SS2D);

}  // namespace vmunet
