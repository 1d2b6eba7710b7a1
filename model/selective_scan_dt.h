// The selective scan with its Δ given by a low-rank projection, Δ = dt_w · dt_in per group, as
// SS2D computes it. The scan kernels (CPU and CUDA) form Δ tile by tile from dt_in's dt_rank rows
// per group, in forward and in backward: Δ, the size of u for every direction, is never written,
// read or kept for the backward pass. (On CUDA the backward still writes Δ's gradient, from which
// two matrix products form dt_in's and dt_w's.)
#pragma once

#include <torch/types.h>

#include "model/scan_order.h"

namespace vmunet {

// dt_in (batch, groups, rank, length); dt_w (groups, channels / groups, rank); the rest as in
// selective_scan (selective_scan.h), with delta = matmul(dt_w, dt_in) viewed as (batch,
// channels, length). Differentiable in every tensor argument. Under bf16 autocast pass dt_in in
// bf16: dt_w is cast to dt_in's dtype for the product, in forward and backward alike.
torch::Tensor selective_scan_dt(const torch::Tensor& u, const torch::Tensor& dt_in,
                                const torch::Tensor& dt_w, const torch::Tensor& A,
                                const torch::Tensor& B, const torch::Tensor& C,
                                const torch::Tensor& D, const torch::Tensor& delta_bias,
                                const ScanOrder& order = {});

}  // namespace vmunet
