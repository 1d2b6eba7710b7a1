// The CUDA selective scan's parameters and launchers, free of LibTorch so that the .cu files and
// the torch glue (selective_scan_cuda.cpp) share them. The maths is in selective_scan.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda_element.h"
#include "model/scan_order.h"

namespace vmunet {

constexpr int kScanTile = 32;      // positions staged in shared memory at a time
constexpr int kScanStates = 16;    // largest dstate; the state lives in registers
constexpr int kScanMaxWarps = 12;  // warps (16 channels each) per block: shared memory bound

// One problem. Every tensor with a sequence axis is contiguous in position; the strides below, in
// elements, give the rest. Channel c belongs to group c / channels_per_group.
struct SelectiveScanCudaParams {
  int batch = 0, channels = 0, groups = 0, length = 0, dstate = 0, channels_per_group = 0;
  CudaDtype dtype = CudaDtype::kFloat32;  // of u, delta, B, C, y, dy, du, ddelta, dB, dC
  ScanOrder order;                        // shared u slices and reversed groups

  // Launch plan, from selective_scan_plan: a block runs `warps` warps of 16 channels of one group;
  // `channel_tiles` blocks cover a group; `chunks` blocks split the sequence, each `chunk_tiles`
  // tiles of kScanTile positions long; `tiles` = ceil(length / kScanTile).
  int warps = 0, channel_tiles = 0, chunks = 0, chunk_tiles = 0, tiles = 0;

  int64_t seq_batch_stride = 0, seq_channel_stride = 0;  // the (batch, channels, length) tensors
  int64_t u_batch_stride = 0;  // u has channels / order.u_share rows per batch element
  int64_t bc_batch_stride = 0, bc_group_stride = 0, bc_state_stride = 0;  // B and C
  int64_t dbc_batch_stride = 0, dbc_group_stride = 0;  // dB and dC; their state stride is length

  const void* u = nullptr;      // (batch, channels / order.u_share, length)
  const void* delta = nullptr;  // (batch, channels, length); step = softplus(delta + bias)
  // Δ projected inside the kernels instead (dt_rank > 0; delta unused there): delta[b, c, l] =
  // Σ_r dt_w[c, r]·dt_in[b, c's group, r, l], so no Δ tensor is written or read.
  int dt_rank = 0;
  const void* dt_in = nullptr;  // (batch, groups, dt_rank, length), u's dtype
  const float* dt_w = nullptr;  // (channels, dt_rank)
  int64_t dt_batch_stride = 0, dt_group_stride = 0;
  const float* A = nullptr;           // (channels, dstate)
  const void* B = nullptr;            // (batch, groups, dstate, length)
  const void* C = nullptr;            // (batch, groups, dstate, length)
  const float* D = nullptr;           // (channels)
  const float* delta_bias = nullptr;  // (channels)
  void* y = nullptr;                  // (batch, channels, length)

  const void* dy = nullptr;      // (batch, channels, length)
  void* du = nullptr;            // (batch, channels, length): a row per channel, before the
                                 // sum over the groups sharing a slice of u
  void* ddelta = nullptr;        // (batch, channels, length)
  float* dA = nullptr;           // (channels, dstate)
  void* dB = nullptr;            // (batch, groups, dstate, length)
  void* dC = nullptr;            // (batch, groups, dstate, length)
  float* dD = nullptr;           // (channels)
  float* ddelta_bias = nullptr;  // (channels)

  // (batch, tiles, kScanStates, channels): the state before every tile. When set, the forward
  // writes it and the backward reads it instead of recomputing it (its first phase).
  float* tile_states = nullptr;

  float* workspace = nullptr;  // selective_scan_workspace_floats(*this, backward) floats
};

// Fills the launch plan from the sizes. `chunks` > 0 forces that many sequence chunks (benchmarks);
// 0 picks them from the number of multiprocessors.
void selective_scan_plan(SelectiveScanCudaParams& p, int multiprocessors, int chunks = 0);

// Floats of SelectiveScanCudaParams::tile_states for a problem of these sizes.
int64_t selective_scan_tile_states_floats(int64_t batch, int64_t channels, int64_t length);

// Scratch floats the forward (backward = false) or backward pass needs for a planned problem.
int64_t selective_scan_workspace_floats(const SelectiveScanCudaParams& p, bool backward);

// Launchers, asynchronous on `stream`. The forward writes y; the backward writes the seven
// gradients. Both are deterministic: no atomics, every sum in a fixed order.
void selective_scan_fwd(const SelectiveScanCudaParams& p, cudaStream_t stream);
void selective_scan_bwd(const SelectiveScanCudaParams& p, cudaStream_t stream);

// du over the groups that read one slice of u (ScanOrder::u_share), which the backward writes one
// row per channel: out[o, i] = Σ_{j < share} du[o·share + j, i] for o < outer, i < inner, added
// in j order in float32 (selective_scan_shared_du.cu). Asynchronous on `stream`.
void selective_scan_sum_shared(CudaDtype dtype, const void* du, void* out, int64_t outer, int share,
                               int64_t inner, cudaStream_t stream);

}  // namespace vmunet
