// Device code shared by the forward (selective_scan_fwd.cu) and backward (selective_scan_bwd.cu)
// CUDA selective scans.
//
// Work split. A block runs `warps` warps of one (batch, group). A warp owns 16 consecutive channels
// of the group; each channel's 16 states live in the registers of two lanes, 8 each (lanes r and
// r + 16), which combine their partial sums over states with one shuffle. The sequence is walked in
// tiles of kScanTile positions staged in shared memory: one row per channel for u, step (and dy),
// read by its lanes with 16-byte loads, and one row per state for B and C, shared by the block's
// warps (the group shares them). Long sequences with few (batch, group) pairs are also split into
// `chunks` along the positions: a pre-pass computes each chunk's local end state, a small
// sequential kernel chains them, and the main pass starts every chunk from its true state.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <type_traits>

#include "model/cuda_check.h"
#include "model/cuda_element.h"
#include "model/selective_scan_cuda_params.h"

namespace vmunet::scan {

constexpr int kWarp = 32;
constexpr int kWarpRows = 16;           // channels per warp
constexpr int kHalf = kScanStates / 2;  // states per lane
constexpr unsigned kFullMask = 0xffffffffu;
// Row pitch in floats: 16-byte reads of 8 rows at a time then fall on distinct banks.
constexpr int kRow = kScanTile + 4;
// Pitch of the shared rows (B, C, dt_in) in floats. The backward's lanes read 8 different state
// rows at once (state_perm); on a 36-float pitch those rows start on distinct banks.
constexpr int kBcRow = kRow;
constexpr int kSub = 4;  // positions per float4 step
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Scratch carved out of SelectiveScanCudaParams::workspace (selective_scan_workspace_floats).
struct ScanScratch {
  float* chunk_state = nullptr;    // (batch, chunks, kScanStates, channels): local end states,
                                   // then (chain) each chunk's initial state
  float* chunk_rho = nullptr;      // (batch, chunks, kScanStates, channels): backward carry into
                                   // each chunk's last position
  float* chunk_dtsum = nullptr;    // (batch, chunks, channels): Σ step over the chunk
  float* tile_state = nullptr;     // (batch, tiles, kScanStates, channels): state before a tile
                                   // (SelectiveScanCudaParams::tile_states where given)
  float* bc_partial = nullptr;     // (batch, groups, channel_tiles, 2, kScanStates, length)
  float* param_partial = nullptr;  // (batch, chunks, kScanStates + 2, channels): dA, dD, dbias
};
ScanScratch scan_scratch(const SelectiveScanCudaParams& p, bool backward);

// Launches the chunk pre-pass and chain of the forward recurrence (chunks > 1 only): afterwards
// chunk_state holds every chunk's initial state and chunk_dtsum its Σ step.
void selective_scan_chunk_states_fwd(const SelectiveScanCudaParams& p, const ScanScratch& s,
                                     cudaStream_t stream);
// Chains per-chunk local states in place, in chunk order or (reverse) backwards:
//   carry ← exp(A·Σstep)·carry + local, each slot receiving the carry before its own chunk.
void selective_scan_chunk_chain(const SelectiveScanCudaParams& p, float* state,
                                const float* stepsum, bool reverse, cudaStream_t stream);

// Blocks: (group, channel tile) × batch × chunk.
inline dim3 scan_grid(const SelectiveScanCudaParams& p) {
  return dim3(unsigned(p.groups * p.channel_tiles), unsigned(p.batch), unsigned(p.chunks));
}

template <typename T>
void set_smem_limit(T* kernel, size_t bytes, const char* name) {
  VMUNET_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
      std::string("raising the shared-memory limit of ") + name);
}

__device__ __forceinline__ unsigned smem_address(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
// fp32 elements go straight to shared memory, asynchronously.
__device__ __forceinline__ void stage_async(float* dst, const float* src) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(smem_address(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// exp2(x) as the one MUFU.EX2 instruction, results below 2^-126 flushed to zero. exp2f keeps them
// at three more instructions per call; here they are decays (or softplus's e^z) under 1e-38, lost
// in the next addition anyway. The scan makes this call once per state and position in every pass
// over a tile (twice in the backward).
__device__ __forceinline__ float exp2_ftz(float x) {
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ float log2_approx(float x) {
  float r;
  asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
}

// mamba's softplus, ln(1 + e^z), linear above 20; from the MUFU's exp2 and log2 rather than expf
// and log1pf, whose forty-odd instructions per call were about a fifth of the forward's (one call
// per channel and position). ln(1 + e) through log2(1 + e) loses its relative
// precision as e shrinks, and Δ lives there (e of 0.001 to 0.1 at initialisation): below 1/16 a
// series to e⁸ instead. Relative error under 3e-6 for z ≤ 20, against log1pf(expf(z)).
__device__ __forceinline__ float softplus(float z) {
  const float e = exp2_ftz(z * kLog2e);
  float series = -1.f / 8;  // e − e²/2 + e³/3 − … − e⁸/8
  for (const float c : {1.f / 7, -1.f / 6, 1.f / 5, -1.f / 4, 1.f / 3, -1.f / 2, 1.f})
    series = fmaf(series, e, c);
  const float sp = e < 0.0625f ? series * e : log2_approx(1.f + e) * kLn2;
  return z <= 20.f ? sp : z;
}
// d softplus(z) / dz = sigmoid(z) = 1 − e^(−sp) with sp = softplus(z), by the same two routes:
// a series below 1/16, where 1 − exp2(−sp) would cancel, and the MUFU's exp2 above.
__device__ __forceinline__ float softplus_grad_from_value(float sp) {
  float series = -1.f / 720;  // sp − sp²/2 + sp³/6 − … − sp⁶/720
  for (const float c : {1.f / 120, -1.f / 24, 1.f / 6, -1.f / 2, 1.f}) series = fmaf(series, sp, c);
  return sp < 0.0625f ? series * sp : 1.f - exp2_ftz(-sp * kLog2e);
}

// ---- block geometry ----
struct BlockCoords {
  int b, g, ctile, chunk, warp, lane;
  int r;               // the lane's channel row in the warp (lane % 16)
  int half;            // the lane keeps states half·8 .. half·8 + 7 (lane / 16)
  int rows;            // channels of this warp inside the group (0..16)
  int c0;              // channel of row 0
  int c;               // the lane's channel, meaningful when active
  bool active;         // r < rows
  int t_begin, t_end;  // tiles of this chunk
  bool rev;            // the group scans backwards: step l lives at position length − 1 − l
  int64_t seq_row0;    // offset of row 0 in the (batch, channels, length) tensors
  int64_t u_row0;      // offset of row 0 in u (its group's shared slice)
  int64_t bc_row0;     // offset of (b, g, state 0) in B and C
};

__device__ __forceinline__ BlockCoords block_coords(const SelectiveScanCudaParams& p) {
  BlockCoords k;
  k.g = blockIdx.x / p.channel_tiles;
  k.ctile = blockIdx.x % p.channel_tiles;
  k.b = blockIdx.y;
  k.chunk = blockIdx.z;
  k.warp = threadIdx.x / kWarp;
  k.lane = threadIdx.x % kWarp;
  k.r = k.lane % kWarpRows;
  k.half = k.lane / kWarpRows;
  const int first = (k.ctile * p.warps + k.warp) * kWarpRows;  // within the group
  k.rows = min(max(p.channels_per_group - first, 0), kWarpRows);
  k.c0 = k.g * p.channels_per_group + min(first, p.channels_per_group - 1);
  k.c = k.c0 + k.r;
  k.active = k.r < k.rows;
  k.t_begin = k.chunk * p.chunk_tiles;
  k.t_end = min(k.t_begin + p.chunk_tiles, p.tiles);
  k.rev = (p.order.reverse >> k.g) & 1u;
  k.seq_row0 = int64_t(k.b) * p.seq_batch_stride + int64_t(k.c0) * p.seq_channel_stride;
  const int u_c0 =
      (k.g / p.order.u_share) * p.channels_per_group + (k.c0 - k.g * p.channels_per_group);
  k.u_row0 = int64_t(k.b) * p.u_batch_stride + int64_t(u_c0) * p.seq_channel_stride;
  k.bc_row0 = int64_t(k.b) * p.bc_batch_stride + int64_t(k.g) * p.bc_group_stride;
  return k;
}

// The order in which the backward's reverse pass keeps a lane's states: slot i of lane row r holds
// state half·8 + (i ^ state_perm(r)). Its sums of dB and dC over the warp's 16 channels then need
// no selects: at each butterfly level (lanes 8, 4, 2 apart) a lane keeps its lower slots and adds
// its partner's upper ones, which hold the same states. The forward and the other passes keep
// state half·8 + i in slot i (perm 0).
__device__ __forceinline__ int state_perm(int lane) {
  return (lane % kWarpRows >> 1) & (kHalf - 1);
}

// The state that slot i of a lane of this half holds, and the offset of its row at position q in
// the shared B or C rows of the half (state_perm).
__device__ __forceinline__ int slot_state(int half, int i, int perm) {
  return half * kHalf + (i ^ perm);
}
__device__ __forceinline__ int slot_row(int i, int perm, int q) { return (i ^ perm) * kBcRow + q; }

// The lane's A2[i] = A[c, half·8 + (i ^ perm)]·log2(e), so exp(step·A) = exp2(step·A2); zero for
// padding states and inactive lanes, which then keep a zero state. perm: see state_perm.
__device__ __forceinline__ void load_channel(const SelectiveScanCudaParams& p, const BlockCoords& k,
                                             float (&A2)[kHalf], float& bias, float& D,
                                             int perm = 0) {
#pragma unroll
  for (int i = 0; i < kHalf; ++i) {
    const int n = slot_state(k.half, i, perm);
    A2[i] = (k.active && n < p.dstate) ? p.A[int64_t(k.c) * p.dstate + n] * kLog2e : 0.f;
  }
  bias = k.active ? p.delta_bias[k.c] : 0.f;
  D = k.active ? p.D[k.c] : 0.f;
}

// (batch, slots, kScanStates, channels) layouts: consecutive rows hit consecutive channels.
__device__ __forceinline__ int64_t state_index(const SelectiveScanCudaParams& p, int b, int slot,
                                               int slots, int n, int c) {
  return ((int64_t(b) * slots + slot) * kScanStates + n) * p.channels + c;
}

// ---- staging ----
// Memory position of scan step l: reversed groups read and write their sequences back to front,
// which keeps a warp's 32 accesses on consecutive addresses.
__device__ __forceinline__ int seq_pos(int l, int length, bool rev) {
  return rev ? length - 1 - l : l;
}

// One warp copies steps [l0, l0 + kScanTile) of rows 0..rows-1 (row r at src + r·stride) into
// dst[r·kRow + step], zero past `length` and in rows rows..15. Lane = step, so every load
// instruction reads 32 consecutive elements of one row. fp32 rows are copied asynchronously;
// bf16 rows are widened in registers, all loads issued before the first store: the compiler
// cannot reorder a global load past a store through a generic pointer, so an interleaved loop
// would wait for every element in turn.
template <typename T>
__device__ __forceinline__ void stage_rows(float* dst, const T* src, int64_t stride, int rows,
                                           int l0, int length, bool rev, int lane) {
  const int l = l0 + lane;
  const bool in = l < length;
  const int m = seq_pos(l, length, rev);
  // One pointer stepped row by row: indexing src + r·stride afresh costs a 64-bit multiply and
  // two parameter loads per row, as many instructions as the copy itself.
  const T* at = src + m;
  const int live = in ? rows : 0;
  if constexpr (std::is_same_v<T, float>) {
#pragma unroll
    for (int r = 0; r < kWarpRows; ++r, at += stride) {
      float* d = dst + r * kRow + lane;
      if (r < live)
        stage_async(d, at);
      else
        *d = 0.f;
    }
  } else {
    float v[kWarpRows];
#pragma unroll
    for (int r = 0; r < kWarpRows; ++r, at += stride) v[r] = r < live ? to_float(*at) : 0.f;
#pragma unroll
    for (int r = 0; r < kWarpRows; ++r) dst[r * kRow + lane] = v[r];
  }
}

// The rows a (b, g) block shares, by slot: B's kScanStates states, then C's, then (projected Δ
// only) dt_in's dt_rank rows; null for padding states. Staged at bc[slot·kBcRow + position].
template <typename T>
__device__ __forceinline__ const T* shared_row(const SelectiveScanCudaParams& p,
                                               const BlockCoords& k, int slot) {
  if (slot >= 2 * kScanStates)
    return static_cast<const T*>(p.dt_in) + int64_t(k.b) * p.dt_batch_stride +
           int64_t(k.g) * p.dt_group_stride + int64_t(slot - 2 * kScanStates) * p.length;
  const int n = slot % kScanStates;
  if (n >= p.dstate) return nullptr;
  return static_cast<const T*>(slot < kScanStates ? p.B : p.C) + k.bc_row0 + n * p.bc_state_stride;
}

// The block copies slots [first, last) of the shared rows of (b, g) into bc[slot·kBcRow +
// position]; positions past `length` are zero.
template <typename T>
__device__ __forceinline__ void stage_shared(float* bc, const SelectiveScanCudaParams& p,
                                             const BlockCoords& k, int l0, int first, int last) {
  const int l = l0 + k.lane;
  const bool in = l < p.length;
  const int m = seq_pos(l, p.length, k.rev);
  auto at = [&](int slot) -> const T* {
    const T* row = in ? shared_row<T>(p, k, slot) : nullptr;
    return row ? row + m : nullptr;
  };
  if constexpr (std::is_same_v<T, float>) {
    for (int r = first + k.warp; r < last; r += p.warps) {
      float* d = bc + r * kBcRow + k.lane;
      if (const float* src = at(r))
        stage_async(d, src);
      else
        *d = 0.f;
    }
  } else {
    constexpr int kBatch = 4;  // rows per warp whose loads are in flight together (see stage_rows)
    for (int r0 = first + k.warp; r0 < last; r0 += kBatch * p.warps) {
      float v[kBatch];
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        const int r = r0 + j * p.warps;
        const T* src = r < last ? at(r) : nullptr;
        v[j] = src ? to_float(*src) : 0.f;
      }
#pragma unroll
      for (int j = 0; j < kBatch; ++j) {
        const int r = r0 + j * p.warps;
        if (r < last) bc[r * kBcRow + k.lane] = v[j];
      }
    }
  }
}

// One warp's Δ rows for the tile: staged from delta, or nothing to stage where the kernels
// project Δ (their inputs are shared rows).
template <typename T>
__device__ __forceinline__ void stage_delta(float* rows, const SelectiveScanCudaParams& p,
                                            const BlockCoords& k, int l0) {
  if (p.dt_rank == 0)
    stage_rows(rows, static_cast<const T*>(p.delta) + k.seq_row0, p.seq_channel_stride, k.rows, l0,
               p.length, k.rev, k.lane);
}

// One warp asks L2 for steps [l0, l0 + kScanTile) of rows 0..rows-1 (as stage_rows reads them),
// one 128-byte line per row. The backward has no shared memory left to double-buffer its tiles;
// this shortens the wait of the next tile's staging instead.
template <typename T>
__device__ __forceinline__ void prefetch_rows(const T* src, int64_t stride, int rows, int l0,
                                              int length, bool rev, int lane) {
  const int l = l0 + lane;
  if (l >= length) return;
  const T* at = src + seq_pos(l, length, rev);
  for (int r = 0; r < rows; ++r, at += stride) asm volatile("prefetch.global.L2 [%0];" ::"l"(at));
}

// One warp writes rows 0..rows-1 of src (pitch kRow) to steps [l0, l0 + kScanTile) of dst.
template <typename T>
__device__ __forceinline__ void write_rows(T* dst, int64_t stride, const float* src, int rows,
                                           int l0, int length, bool rev, int lane) {
  const int l = l0 + lane;
  if (l >= length) return;
  const int m = seq_pos(l, length, rev);
  // Measured on the H200 (stage-1 shape): a pointer stepped row by row makes the bf16 scans
  // faster (bf16 inference 1911 → 1963 img/s) and the fp32 forward slower (0.88 → 0.96 ms).
  if constexpr (std::is_same_v<T, float>) {
    for (int r = 0; r < rows; ++r) dst[r * stride + m] = src[r * kRow + lane];
  } else {
    T* at = dst + m;
    for (int r = 0; r < rows; ++r, at += stride) *at = from_float<T>(src[r * kRow + lane]);
  }
}

// Replaces the staged delta row of the lane's channel by the step softplus(delta + bias), in
// place; the two lanes of a channel take half the positions each. Ends with __syncwarp.
__device__ __forceinline__ void to_step(float* row, float bias, int half) {
  constexpr int kPart = kScanTile / 2;
#pragma unroll
  for (int q = 0; q < kPart; q += kSub) {
    float4* at = reinterpret_cast<float4*>(row + half * kPart + q);
    float4 v = *at;
    v.x = softplus(v.x + bias);
    v.y = softplus(v.y + bias);
    v.z = softplus(v.z + bias);
    v.w = softplus(v.w + bias);
    *at = v;
  }
  __syncwarp();
}

// Writes the step row of the lane's channel where Δ is projected: delta = Σ_r w[r]·dts[r][pos]
// from the staged dt_in rows, then as to_step. w is the channel's dt_w row (null for an inactive
// lane, whose steps are never used). Ends with __syncwarp.
__device__ __forceinline__ void project_step(float* row, const float* dts, const float* w, int rank,
                                             float bias, int half) {
  constexpr int kPart = kScanTile / 2;
#pragma unroll
  for (int q = 0; q < kPart; q += kSub) {
    const int at = half * kPart + q;
    float4 d = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int r = 0; w && r < rank; ++r) {
      const float wr = w[r];
      const float4 x = *reinterpret_cast<const float4*>(dts + r * kBcRow + at);
      d.x = fmaf(wr, x.x, d.x);
      d.y = fmaf(wr, x.y, d.y);
      d.z = fmaf(wr, x.z, d.z);
      d.w = fmaf(wr, x.w, d.w);
    }
    *reinterpret_cast<float4*>(row + at) = make_float4(softplus(d.x + bias), softplus(d.y + bias),
                                                       softplus(d.z + bias), softplus(d.w + bias));
  }
  __syncwarp();
}

// The step row of the lane's channel for the staged tile, either way Δ arrives.
__device__ __forceinline__ void make_step(const SelectiveScanCudaParams& p, const BlockCoords& k,
                                          float* step_row, const float* dts, float bias) {
  // Formed before the branch on purpose: inside it, ptxas gave the fp32 backward kernel a 4-byte
  // spill at its 168-register limit (4faa183).
  const float* w = k.active ? p.dt_w + int64_t(k.c) * p.dt_rank : nullptr;
  if (p.dt_rank > 0)
    project_step(step_row, dts, w, p.dt_rank, bias, k.half);
  else
    to_step(step_row, bias, k.half);
}

__device__ __forceinline__ void unpack(const float4 v, float (&a)[kSub]) {
  a[0] = v.x;
  a[1] = v.y;
  a[2] = v.z;
  a[3] = v.w;
}
__device__ __forceinline__ void load4(const float* p, float (&a)[kSub]) {
  unpack(*reinterpret_cast<const float4*>(p), a);
}

// Advances the lane's 8 states over kSub positions starting at q:
//   h ← exp2(step·A2)·h + step·u·B.
// Bs and Cs point at the lane's first state row; slot i reads row i ^ perm (state_perm). With
// kOutput, adds Σ_states C·h to y.
template <bool kOutput>
__device__ __forceinline__ void advance(float (&h)[kHalf], const float (&A2)[kHalf],
                                        const float (&step)[kSub], const float (&stepu)[kSub],
                                        const float* Bs, const float* Cs, int q, float (&y)[kSub],
                                        int perm = 0) {
#pragma unroll
  for (int i = 0; i < kHalf; ++i) {
    float b[kSub], c[kSub];
    const int row = slot_row(i, perm, q);
    load4(Bs + row, b);
    if (kOutput) load4(Cs + row, c);
#pragma unroll
    for (int j = 0; j < kSub; ++j) {
      h[i] = fmaf(exp2_ftz(step[j] * A2[i]), h[i], stepu[j] * b[j]);
      if (kOutput) y[j] = fmaf(c[j], h[i], y[j]);
    }
  }
}

// What a forward sweep does besides advancing the state.
enum class Sweep {
  kOutput,      // write y (the forward pass), and the tile states where the caller keeps them
  kChunkEnd,    // nothing: the caller keeps the end state and Σ step (chunk pre-pass)
  kTileStates,  // store the state before every tile (backward pass, phase 1)
};

// Shared-memory floats of one forward_sweep stage: rows [warps][2][kWarpRows][kRow] (u, step),
// then B and C [2][kScanStates][kBcRow], then dt_in [dt_rank][kBcRow] (projected Δ only).
__host__ __device__ inline int bc_and_dt_floats(const SelectiveScanCudaParams& p) {
  return (2 * kScanStates + p.dt_rank) * kBcRow;
}
__host__ __device__ inline int sweep_stage_floats(const SelectiveScanCudaParams& p) {
  return p.warps * 2 * kWarpRows * kRow + bc_and_dt_floats(p);
}

// bf16 rows cannot go through cp.async (it moves whole 4-byte words; a lane reads one 2-byte
// position, walked backwards in reversed groups), so the forward kernels hold a warp's share of
// the next tile in registers while the current tile is computed: its u and delta rows and up to
// kNextShared of the block's shared rows (the network's shapes need at most 7 with 12 warps). The
// backward, with no registers to spare during a tile, fetches its own tile the same way just
// before staging it, so that all of the tile's loads are in flight at once.
constexpr int kNextShared = 8;

template <typename T>
struct NextTile {
  T rows[2][kWarpRows];  // u, delta (unless Δ is projected)
  T shared[kNextShared];
};

// Shared-row slots a sweep stages, in order: B (and C with kWithC), then dt_in's rows.
__device__ __forceinline__ int sweep_shared_rows(const SelectiveScanCudaParams& p, bool with_c) {
  return (with_c ? 2 * kScanStates : kScanStates) + p.dt_rank;
}
__device__ __forceinline__ int sweep_shared_slot(int i, bool with_c) {
  return with_c || i < kScanStates ? i : i + kScanStates;
}

// Issues the loads of steps [l0, l0 + kScanTile) of rows 0..live-1 (row r at src + r·stride) into
// registers, as stage_rows reads them; rows from `live` on are zero.
template <typename T>
__device__ __forceinline__ void fetch_rows(T (&v)[kWarpRows], const T* src, int64_t stride,
                                           int live, int m) {
  const T* at = src + m;
#pragma unroll
  for (int r = 0; r < kWarpRows; ++r, at += stride) v[r] = r < live ? *at : from_float<T>(0.f);
}
// Writes fetched rows at dst[r·kRow] (dst already offset by the lane's step).
template <typename T>
__device__ __forceinline__ void put_rows(float* dst, const T (&v)[kWarpRows]) {
#pragma unroll
  for (int r = 0; r < kWarpRows; ++r) dst[r * kRow] = to_float(v[r]);
}

// Issues the loads of tile t's values into registers.
template <typename T>
__device__ __forceinline__ void fetch_next(NextTile<T>& f, const SelectiveScanCudaParams& p,
                                           const BlockCoords& k, const T* u, int t, bool with_c) {
  const int l = t * kScanTile + k.lane;
  const bool in = l < p.length;
  const int m = seq_pos(l, p.length, k.rev);
  const int live = in ? k.rows : 0;
  fetch_rows(f.rows[0], u, p.seq_channel_stride, live, m);
  fetch_rows(f.rows[1], static_cast<const T*>(p.delta) + k.seq_row0, p.seq_channel_stride,
             p.dt_rank == 0 ? live : 0, m);
  const int count = sweep_shared_rows(p, with_c);
#pragma unroll
  for (int j = 0; j < kNextShared; ++j) {
    const int i = k.warp + j * p.warps;
    const T* row = in && i < count ? shared_row<T>(p, k, sweep_shared_slot(i, with_c)) : nullptr;
    f.shared[j] = row ? row[m] : from_float<T>(0.f);
  }
}

// Writes fetched values into the warp's u and delta rows (`rows`, pitch kRow) and the block's
// shared rows (`bc`, laid out as stage_shared writes them).
template <typename T>
__device__ __forceinline__ void put_next(float* rows, float* bc, const NextTile<T>& f,
                                         const SelectiveScanCudaParams& p, const BlockCoords& k,
                                         bool with_c) {
  put_rows(rows + k.lane, f.rows[0]);
  if (p.dt_rank == 0) put_rows(rows + kWarpRows * kRow + k.lane, f.rows[1]);
  const int count = sweep_shared_rows(p, with_c);
#pragma unroll
  for (int j = 0; j < kNextShared; ++j) {
    const int i = k.warp + j * p.warps;
    if (i < count) bc[sweep_shared_slot(i, with_c) * kBcRow + k.lane] = to_float(f.shared[j]);
  }
}

// Runs the forward recurrence of one warp's channels over this chunk's tiles from state h,
// double-buffered: the next tile's copy (fp32: cp.async; bf16: NextTile, where its rows fit) is
// in flight while the current one is computed.
template <typename T, Sweep kMode>
__device__ __forceinline__ void forward_sweep(const SelectiveScanCudaParams& p,
                                              const ScanScratch& s, const BlockCoords& k,
                                              float* stage0, float* stage1, float (&h)[kHalf],
                                              float& stepsum) {
  float A2[kHalf], bias, D;
  load_channel(p, k, A2, bias, D);
  const T* u = static_cast<const T*>(p.u) + k.u_row0;
  const int rows_floats = p.warps * 2 * kWarpRows * kRow;
  constexpr bool kWithC = kMode == Sweep::kOutput;
  // kTileStates needs no pass over the chunk's last tile, only the state before it.
  const int t_last = kMode == Sweep::kTileStates ? k.t_end - 1 : k.t_end;

  auto stage = [&](float* buf, int t) {
    float* rows = buf + k.warp * 2 * kWarpRows * kRow;
    const int l0 = t * kScanTile;
    stage_rows(rows, u, p.seq_channel_stride, k.rows, l0, p.length, k.rev, k.lane);
    stage_delta<T>(rows + kWarpRows * kRow, p, k, l0);
    float* bc = buf + rows_floats;
    stage_shared<T>(bc, p, k, l0, 0, kWithC ? 2 * kScanStates : kScanStates);
    stage_shared<T>(bc, p, k, l0, 2 * kScanStates, 2 * kScanStates + p.dt_rank);
  };
  // The backward's phase 1 (kTileStates) has no registers to spare for NextTile.
  constexpr bool kFetch = !std::is_same_v<T, float> && kMode != Sweep::kTileStates;
  const bool fetch = kFetch && sweep_shared_rows(p, kWithC) <= kNextShared * p.warps;
  NextTile<T> next;
  auto store_state = [&](int t) {
    if (!k.active) return;
#pragma unroll
    for (int i = 0; i < kHalf; ++i)
      s.tile_state[state_index(p, k.b, t, p.tiles, k.half * kHalf + i, k.c)] = h[i];
  };

  if (k.t_begin < t_last) {
    if (fetch) {
      fetch_next(next, p, k, u, k.t_begin, kWithC);
      put_next(stage0 + k.warp * 2 * kWarpRows * kRow, stage0 + rows_floats, next, p, k, kWithC);
    } else {
      stage(stage0, k.t_begin);
    }
  }
  cp_async_commit();
  for (int t = k.t_begin; t < t_last; ++t) {
    const bool odd = (t - k.t_begin) & 1;
    float* cur = odd ? stage1 : stage0;
    float* other = odd ? stage0 : stage1;
    if (t + 1 < t_last) {
      if (fetch)
        fetch_next(next, p, k, u, t + 1, kWithC);
      else
        stage(other, t + 1);
    }
    cp_async_commit();
    if (kMode == Sweep::kTileStates || (kMode == Sweep::kOutput && s.tile_state)) store_state(t);
    cp_async_wait<1>();
    __syncthreads();

    float* u_row = cur + (k.warp * 2 * kWarpRows + k.r) * kRow;
    float* step_row = u_row + kWarpRows * kRow;
    const float* Bs = cur + rows_floats + k.half * kHalf * kBcRow;
    const float* Cs = Bs + kScanStates * kBcRow;
    const int valid = min(kScanTile, p.length - t * kScanTile);
    make_step(p, k, step_row, cur + rows_floats + 2 * kScanStates * kBcRow, bias);
#pragma unroll 1
    for (int q = 0; q < kScanTile; q += kSub) {
      float uu[kSub], step[kSub], stepu[kSub], y[kSub];
      load4(u_row + q, uu);
      load4(step_row + q, step);
#pragma unroll
      for (int j = 0; j < kSub; ++j) {
        stepu[j] = step[j] * uu[j];
        y[j] = k.half == 0 ? D * uu[j] : 0.f;
        if (kMode == Sweep::kChunkEnd && q + j < valid) stepsum += step[j];
      }
      advance<kMode == Sweep::kOutput>(h, A2, step, stepu, Bs, Cs, q, y);
      if (kMode == Sweep::kOutput) {
#pragma unroll
        for (int j = 0; j < kSub; ++j) y[j] += __shfl_xor_sync(kFullMask, y[j], kWarpRows);
        __syncwarp();  // the partner lane has read u[q..] before y replaces it
        if (k.half == 0)
          *reinterpret_cast<float4*>(u_row + q) = make_float4(y[0], y[1], y[2], y[3]);
      }
    }
    if (kMode == Sweep::kOutput) {
      __syncwarp();
      write_rows(static_cast<T*>(p.y) + k.seq_row0, p.seq_channel_stride,
                 cur + k.warp * 2 * kWarpRows * kRow, k.rows, t * kScanTile, p.length, k.rev,
                 k.lane);
    }
    // `other` was last read before the previous tile's closing barrier.
    if (fetch && t + 1 < t_last)
      put_next(other + k.warp * 2 * kWarpRows * kRow, other + rows_floats, next, p, k, kWithC);
    __syncthreads();  // every warp is done with `cur` before it is refilled
  }
  if (kMode == Sweep::kTileStates && k.t_begin < k.t_end) store_state(t_last);
}

}  // namespace vmunet::scan
