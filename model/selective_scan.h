// The selective-scan (S6) operator of DESIGN §2, per batch b, channel c, state n, position l:
//   δ = softplus(Δ[b,c,l] + bias[c]);  h ← exp(δ·A[c,n])·h + δ·B[b,g,n,l]·u[b,c,l]
//   y[b,c,l] = Σ_n C[b,g,n,l]·h + D[c]·u[b,c,l],   g = c / (channels / groups)
// B and C are shared by the channels of one group (one scan direction in SS2D). A ScanOrder lets
// groups share u and run backwards (scan_order.h).
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "model/scan_order.h"

namespace vmunet {

// Shapes: u (batch, channels / order.u_share, length); delta (batch, channels, length); A
// (channels, dstate); B, C (batch, groups, dstate, length); D, delta_bias (channels). All
// contiguous, one dtype; strides follow from the sizes.
template <typename T>
struct SelectiveScanParams {
  int64_t batch = 0, channels = 0, groups = 0, length = 0, dstate = 0;
  ScanOrder order;
  const T *u = nullptr, *delta = nullptr, *A = nullptr, *B = nullptr, *C = nullptr;
  const T *D = nullptr, *delta_bias = nullptr;
  T* y = nullptr;  // (batch, channels, length)
  // CPU kernels: where dt_in is set, Δ is the low-rank projection of selective_scan_dt.h,
  // Δ[b, c, l] = Σ_r dt_w[c, r]·dt_in[b, g, r, l] with dt_in (batch, groups, dt_rank, length) and
  // dt_w (channels, dt_rank), formed inside the kernels; `delta` is then unused.
  const T *dt_in = nullptr, *dt_w = nullptr;
  int64_t dt_rank = 0;

  int64_t channels_per_group() const { return channels / groups; }
  // Offset of (b, c)'s row in u.
  int64_t u_row(int64_t b, int64_t c) const {
    const int64_t per_group = channels_per_group(), g = c / per_group;
    const int64_t u_channels = channels / order.u_share;
    return (b * u_channels + (g / order.u_share) * per_group + c % per_group) * length;
  }
  bool reversed(int64_t g) const { return (order.reverse >> g) & 1u; }
};

// Backward: the forward's inputs plus dy, and one output per input (same shapes as the inputs,
// except du, which has delta's shape: one row per channel, before the sum over a slice's groups).
template <typename T>
struct SelectiveScanGradParams : SelectiveScanParams<T> {
  const T* dy = nullptr;
  T *du = nullptr, *ddelta = nullptr, *dA = nullptr, *dB = nullptr, *dC = nullptr;
  T *dD = nullptr, *ddelta_bias = nullptr;
  // With dt_in set: the projection's gradients (dt_in's and dt_w's shapes) instead of ddelta.
  T *d_dt_in = nullptr, *d_dt_w = nullptr;
};

// Differentiable operator (all seven inputs get gradients). Dispatches on u's device: CPU kernels
// for float and double; CUDA kernels where built (VMUNET_CUDA).
torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta,
                             const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                             const torch::Tensor& D, const torch::Tensor& delta_bias,
                             const ScanOrder& order = {});

// The raw kernels' entry points, without autograd: y, and the seven gradients in input order.
// Where `tile_states` is given, the CUDA forward keeps in it the state before every tile of
// positions (float32; undefined on the CPU), and a backward on the same inputs that is handed it
// skips recomputing them: a fifth of the backward's time, for float32 memory of half delta's
// size. The autograd operators keep them whenever an input requires a gradient.
torch::Tensor selective_scan_forward(const torch::Tensor& u, const torch::Tensor& delta,
                                     const torch::Tensor& A, const torch::Tensor& B,
                                     const torch::Tensor& C, const torch::Tensor& D,
                                     const torch::Tensor& delta_bias, const ScanOrder& order = {},
                                     torch::Tensor* tile_states = nullptr);
std::vector<torch::Tensor> selective_scan_backward(
    const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
    const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy, const ScanOrder& order = {},
    const torch::Tensor& tile_states = {});

// The same with Δ = dt_w · dt_in formed inside the kernels (selective_scan_dt.h has the shapes):
// no Δ tensor, no per-batch matrix products in the forward pass. Backward returns the gradients of
// u, dt_in, dt_w, A, B, C, D, delta_bias. `tile_states` as above.
torch::Tensor selective_scan_dt_forward(const torch::Tensor& u, const torch::Tensor& dt_in,
                                        const torch::Tensor& dt_w, const torch::Tensor& A,
                                        const torch::Tensor& B, const torch::Tensor& C,
                                        const torch::Tensor& D, const torch::Tensor& delta_bias,
                                        const ScanOrder& order = {},
                                        torch::Tensor* tile_states = nullptr);
std::vector<torch::Tensor> selective_scan_dt_backward(
    const torch::Tensor& u, const torch::Tensor& dt_in, const torch::Tensor& dt_w,
    const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy, const ScanOrder& order = {},
    const torch::Tensor& tile_states = {});

// CPU kernels (selective_scan_cpu.cpp), parallel over batch × channels (forward) and over
// batch × groups (backward, so each task owns its slice of dB and dC: no atomics).
template <typename T>
void selective_scan_fwd_cpu(const SelectiveScanParams<T>& p);
template <typename T>
void selective_scan_bwd_cpu(const SelectiveScanGradParams<T>& p);

}  // namespace vmunet
