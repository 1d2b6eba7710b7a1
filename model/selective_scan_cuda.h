// The CUDA selective scan behind the operator of selective_scan.h; declared and built only where
// LibTorch has CUDA (VMUNET_CUDA). The kernels are in selective_scan_{fwd,bwd}.cu.
#pragma once

#include <torch/types.h>

#include <vector>

#include "model/scan_order.h"

namespace vmunet {

// Shapes as in selective_scan.h, all on one CUDA device; dstate at most 16. u's dtype, float32 or
// bfloat16, is the compute dtype of u, delta, B and C (converted to it if they differ) and of y;
// A, D and delta_bias are used in float32. The state and every sum are float32. `chunks` > 0
// forces the number of blocks along the sequence (benchmarks); 0 chooses it from the shape.
// Where `tile_states` is given it receives the state before every tile of kScanTile positions,
// float32, for the backward pass to take instead of recomputing it.
torch::Tensor selective_scan_fwd_cuda(const torch::Tensor& u, const torch::Tensor& delta,
                                      const torch::Tensor& A, const torch::Tensor& B,
                                      const torch::Tensor& C, const torch::Tensor& D,
                                      const torch::Tensor& delta_bias, const ScanOrder& order = {},
                                      int chunks = 0, torch::Tensor* tile_states = nullptr);

// The seven gradients of Σ y·dy in input order (u, delta, A, B, C, D, delta_bias): du, ddelta, dB,
// dC in u's dtype, dA, dD, ddelta_bias in float32. du has delta's shape, one row per channel: the
// caller sums the groups that share a slice of u. Deterministic: bitwise equal across runs.
// `tile_states`, where defined, is what the forward pass on these inputs returned.
std::vector<torch::Tensor> selective_scan_bwd_cuda(
    const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
    const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy, const ScanOrder& order = {},
    int chunks = 0, const torch::Tensor& tile_states = {});

// The same with Δ = dt_w·dt_in (selective_scan_dt.h has the shapes) formed inside the kernels:
// no Δ tensor is written or read. dt_in is used in u's dtype, dt_w in float32. The backward's
// ddelta is Δ's gradient, (batch, channels, length); the caller forms dt_in's and dt_w's.
torch::Tensor selective_scan_dt_fwd_cuda(const torch::Tensor& u, const torch::Tensor& dt_in,
                                         const torch::Tensor& dt_w, const torch::Tensor& A,
                                         const torch::Tensor& B, const torch::Tensor& C,
                                         const torch::Tensor& D, const torch::Tensor& delta_bias,
                                         const ScanOrder& order, torch::Tensor* tile_states);
std::vector<torch::Tensor> selective_scan_dt_bwd_cuda(
    const torch::Tensor& u, const torch::Tensor& dt_in, const torch::Tensor& dt_w,
    const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy, const ScanOrder& order,
    const torch::Tensor& tile_states);

// The backward's du, (batch, channels, length) with one row per channel, summed over the `share`
// consecutive groups (of `groups`) that read one slice of u: (batch, channels / share, length).
torch::Tensor selective_scan_sum_shared_du_cuda(const torch::Tensor& du, int64_t groups,
                                                int64_t share);

}  // namespace vmunet
