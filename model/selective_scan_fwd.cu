// Forward CUDA selective scan: the launch plan, the workspace layout, the chunk pre-pass and
// chain (shared with the backward pass) and the main forward kernel.
#include <algorithm>

#include "model/selective_scan_kernels.cuh"

namespace vmunet {
namespace scan {
namespace {

int ceil_div(int64_t a, int64_t b) { return int((a + b - 1) / b); }

// Local end state (from zero) and Σ step of every chunk.
template <typename T>
__global__ void __launch_bounds__(kScanMaxWarps* kWarp)
    selective_scan_chunk_state_fwd_kernel(const SelectiveScanCudaParams p, const ScanScratch s) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const BlockCoords k = block_coords(p);
  float h[kHalf] = {};
  float stepsum = 0.f;
  forward_sweep<T, Sweep::kChunkEnd>(p, s, k, smem, smem + sweep_stage_floats(p), h, stepsum);
  if (!k.active) return;
#pragma unroll
  for (int i = 0; i < kHalf; ++i)
    s.chunk_state[state_index(p, k.b, k.chunk, p.chunks, k.half * kHalf + i, k.c)] = h[i];
  if (k.half == 0) s.chunk_dtsum[(int64_t(k.b) * p.chunks + k.chunk) * p.channels + k.c] = stepsum;
}

// One thread per (batch, state, channel) walks the chunks in order.
__global__ void selective_scan_chunk_chain_kernel(const SelectiveScanCudaParams p, float* state,
                                                  const float* stepsum, bool reverse) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(p.batch) * kScanStates * p.channels) return;
  const int c = int(i % p.channels);
  const int n = int(i / p.channels % kScanStates);
  const int b = int(i / (int64_t(kScanStates) * p.channels));
  const float A2 = n < p.dstate ? p.A[int64_t(c) * p.dstate + n] * kLog2e : 0.f;
  float carry = 0.f;
  for (int j = 0; j < p.chunks; ++j) {
    const int chunk = reverse ? p.chunks - 1 - j : j;
    const int64_t at = state_index(p, b, chunk, p.chunks, n, c);
    const float local = state[at];
    state[at] = carry;
    carry = fmaf(exp2_ftz(A2 * stepsum[(int64_t(b) * p.chunks + chunk) * p.channels + c]), carry,
                 local);
  }
}

// y for one chunk of one block's channels, starting from the chunk's initial state.
template <typename T>
__global__ void __launch_bounds__(kScanMaxWarps* kWarp)
    selective_scan_fwd_kernel(const SelectiveScanCudaParams p, const ScanScratch s) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const BlockCoords k = block_coords(p);
  float h[kHalf];
#pragma unroll
  for (int i = 0; i < kHalf; ++i)
    h[i] = (p.chunks > 1 && k.active)
               ? s.chunk_state[state_index(p, k.b, k.chunk, p.chunks, k.half * kHalf + i, k.c)]
               : 0.f;
  float unused = 0.f;
  forward_sweep<T, Sweep::kOutput>(p, s, k, smem, smem + sweep_stage_floats(p), h, unused);
}

template <typename T>
void chunk_states_fwd(const SelectiveScanCudaParams& p, const ScanScratch& s, cudaStream_t stream) {
  const size_t smem = 2 * sweep_stage_floats(p) * sizeof(float);
  set_smem_limit(selective_scan_chunk_state_fwd_kernel<T>, smem,
                 "selective_scan_chunk_state_fwd_kernel");
  selective_scan_chunk_state_fwd_kernel<T><<<scan_grid(p), p.warps * kWarp, smem, stream>>>(p, s);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_chunk_state_fwd_kernel");
  selective_scan_chunk_chain(p, s.chunk_state, s.chunk_dtsum, false, stream);
}

template <typename T>
void fwd(const SelectiveScanCudaParams& p, cudaStream_t stream) {
  const ScanScratch s = scan_scratch(p, false);
  if (p.chunks > 1) chunk_states_fwd<T>(p, s, stream);
  const size_t smem = 2 * sweep_stage_floats(p) * sizeof(float);
  set_smem_limit(selective_scan_fwd_kernel<T>, smem, "selective_scan_fwd_kernel");
  selective_scan_fwd_kernel<T><<<scan_grid(p), p.warps * kWarp, smem, stream>>>(p, s);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_fwd_kernel");
}

}  // namespace

void selective_scan_chunk_chain(const SelectiveScanCudaParams& p, float* state,
                                const float* stepsum, bool reverse, cudaStream_t stream) {
  const int64_t threads = int64_t(p.batch) * kScanStates * p.channels;
  selective_scan_chunk_chain_kernel<<<ceil_div(threads, 256), 256, 0, stream>>>(p, state, stepsum,
                                                                                reverse);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_chunk_chain_kernel");
}

void selective_scan_chunk_states_fwd(const SelectiveScanCudaParams& p, const ScanScratch& s,
                                     cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    chunk_states_fwd<__nv_bfloat16>(p, s, stream);
  else
    chunk_states_fwd<float>(p, s, stream);
}

namespace {

// The scratch buffers back to back from `base` (null: sizes only); `floats` gets the total.
ScanScratch scratch_layout(const SelectiveScanCudaParams& p, bool backward, float* base,
                           int64_t& floats) {
  const int64_t bc = int64_t(p.batch) * p.channels;
  int64_t at = 0;
  auto take = [&](int64_t n) {
    float* out = base ? base + at : nullptr;
    at += n;
    return out;
  };
  ScanScratch s;
  if (p.chunks > 1) {
    s.chunk_state = take(bc * p.chunks * kScanStates);
    s.chunk_dtsum = take(bc * p.chunks);
    if (backward) s.chunk_rho = take(bc * p.chunks * kScanStates);
  }
  s.tile_state = p.tile_states;
  if (backward) {
    if (!p.tile_states) s.tile_state = take(bc * p.tiles * kScanStates);
    if (p.channel_tiles > 1)
      s.bc_partial =
          take(int64_t(p.batch) * p.groups * p.channel_tiles * 2 * kScanStates * p.length);
    s.param_partial = take(bc * p.chunks * (kScanStates + 2));
  }
  floats = at;
  return s;
}

}  // namespace

ScanScratch scan_scratch(const SelectiveScanCudaParams& p, bool backward) {
  int64_t floats = 0;
  return scratch_layout(p, backward, p.workspace, floats);
}

}  // namespace scan

void selective_scan_plan(SelectiveScanCudaParams& p, int multiprocessors, int chunks) {
  using scan::ceil_div;
  const int warps_needed = ceil_div(p.channels_per_group, scan::kWarpRows);
  p.channel_tiles = ceil_div(warps_needed, kScanMaxWarps);
  p.warps = ceil_div(warps_needed, p.channel_tiles);
  p.tiles = ceil_div(p.length, kScanTile);
  const int blocks = p.batch * p.groups * p.channel_tiles;
  // Chunks cost a pre-pass over the inputs, so split the sequence only when the blocks leave most
  // multiprocessors idle, and keep chunks at least 8 tiles long.
  if (chunks <= 0)
    chunks = 2 * blocks >= multiprocessors
                 ? 1
                 : std::min(ceil_div(multiprocessors, blocks), std::max(1, p.tiles / 8));
  chunks = std::clamp(chunks, 1, p.tiles);
  p.chunk_tiles = ceil_div(p.tiles, chunks);
  p.chunks = ceil_div(p.tiles, p.chunk_tiles);
}

int64_t selective_scan_tile_states_floats(int64_t batch, int64_t channels, int64_t length) {
  return batch * scan::ceil_div(length, kScanTile) * kScanStates * channels;
}

int64_t selective_scan_workspace_floats(const SelectiveScanCudaParams& p, bool backward) {
  int64_t floats = 0;
  scan::scratch_layout(p, backward, nullptr, floats);
  return floats;
}

void selective_scan_fwd(const SelectiveScanCudaParams& p, cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    scan::fwd<__nv_bfloat16>(p, stream);
  else
    scan::fwd<float>(p, stream);
}

}  // namespace vmunet
