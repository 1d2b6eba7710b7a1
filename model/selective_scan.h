// The selective-scan (S6) operator of DESIGN §2, per batch b, channel c, state n, position l:
//   δ = softplus(Δ[b,c,l] + bias[c]);  h ← exp(δ·A[c,n])·h + δ·B[b,g,n,l]·u[b,c,l]
//   y[b,c,l] = Σ_n C[b,g,n,l]·h + D[c]·u[b,c,l],   g = c / (channels / groups)
// B and C are shared by the channels of one group (one scan direction in SS2D).
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "model/selective_scan_layout.h"

namespace vmunet {

// Shapes: u, delta (batch, channels, length); A (channels, dstate); B, C (batch, groups, dstate,
// length); D, delta_bias (channels). All contiguous, one dtype; strides follow from the sizes.
// Step l of channel c's sequence is at memory position layout's scan_position(group, l) of every
// tensor with a length axis. With the kSS2D layout (4 groups) u is one (batch, channels / 4,
// length) copy shared by the directions: channel c reads u's channel c % (channels / 4).
template <typename T>
struct SelectiveScanParams {
  int64_t batch = 0, channels = 0, groups = 0, length = 0, dstate = 0;
  ScanLayout layout;
  const T *u = nullptr, *delta = nullptr, *A = nullptr, *B = nullptr, *C = nullptr;
  const T *D = nullptr, *delta_bias = nullptr;
  T* y = nullptr;  // (batch, channels, length)

  int64_t channels_per_group() const { return channels / groups; }
  int64_t u_channels() const { return layout.ss2d() ? channels_per_group() : channels; }
  int64_t position(int64_t group, int64_t l) const {
    return scan_position(layout.order, layout.height, layout.width, length, int(group), l);
  }
};

// Backward: the forward's inputs plus dy, and one output per input (same shapes as the inputs),
// except that dy has u's shape, and du delta's: with kSS2D, du holds each direction's part.
template <typename T>
struct SelectiveScanGradParams : SelectiveScanParams<T> {
  const T* dy = nullptr;
  T *du = nullptr, *ddelta = nullptr, *dA = nullptr, *dB = nullptr, *dC = nullptr;
  T *dD = nullptr, *ddelta_bias = nullptr;
};

// Differentiable operator (all seven inputs get gradients). Dispatches on u's device: CPU kernels
// for float and double; CUDA kernels where built (VMUNET_CUDA).
torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta,
                             const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                             const torch::Tensor& D, const torch::Tensor& delta_bias);

// The raw kernels' entry points, without autograd: y, and the seven gradients in input order.
torch::Tensor selective_scan_forward(const torch::Tensor& u, const torch::Tensor& delta,
                                     const torch::Tensor& A, const torch::Tensor& B,
                                     const torch::Tensor& C, const torch::Tensor& D,
                                     const torch::Tensor& delta_bias);
std::vector<torch::Tensor> selective_scan_backward(const torch::Tensor& u,
                                                   const torch::Tensor& delta,
                                                   const torch::Tensor& A, const torch::Tensor& B,
                                                   const torch::Tensor& C, const torch::Tensor& D,
                                                   const torch::Tensor& delta_bias,
                                                   const torch::Tensor& dy);

// SS2D's four-direction scan (DESIGN §2) without flipped or transposed copies: the kernels read
// direction k's step l at the grid position scan_position(kSS2D, H, W, L, k, l).
//   u (batch, D, H, W), the one copy all four directions scan;
//   delta (batch, 4·D, H·W), B and C (batch, 4, dstate, H·W): direction k's rows, in position
//   order (row-major over the grid, whatever the direction);
//   A (4·D, dstate), D and delta_bias (4·D).
// Returns the sum of the four directions' outputs, (batch, D, H, W). Differentiable in all seven
// inputs; dispatch as for selective_scan.
torch::Tensor selective_scan_2d(const torch::Tensor& u, const torch::Tensor& delta,
                                const torch::Tensor& A, const torch::Tensor& B,
                                const torch::Tensor& C, const torch::Tensor& D,
                                const torch::Tensor& delta_bias);

// Its raw kernels: the forward returns each direction's output, (batch, 4·D, H·W) in position
// order; the backward takes dy of the summed output (batch, D, H, W) and returns the seven
// gradients in input order, in the inputs' shapes.
torch::Tensor selective_scan_2d_forward(const torch::Tensor& u, const torch::Tensor& delta,
                                        const torch::Tensor& A, const torch::Tensor& B,
                                        const torch::Tensor& C, const torch::Tensor& D,
                                        const torch::Tensor& delta_bias);
std::vector<torch::Tensor> selective_scan_2d_backward(
    const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
    const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy);

// CPU kernels (selective_scan_cpu.cpp), parallel over batch × channels (forward) and over
// batch × groups (backward, so each task owns its slice of dB and dC: no atomics).
template <typename T>
void selective_scan_fwd_cpu(const SelectiveScanParams<T>& p);
template <typename T>
void selective_scan_bwd_cpu(const SelectiveScanGradParams<T>& p);

}  // namespace vmunet
