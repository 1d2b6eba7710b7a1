// Backward CUDA selective scan, deterministic: every sum runs in a fixed order and nothing uses
// atomics, so two runs give bitwise-equal gradients.
//
// Per channel and state, with a_l = exp(step_l·A), x_l = step_l·u_l·B_l, h_l = a_l·h_{l-1} + x_l:
//   g_l = C_l·dy_l + a_{l+1}·g_{l+1}                     (dL/dh_l, a reverse recurrence)
//   dC_l += dy_l·h_l      dB_l += g_l·step_l·u_l         (summed over the group's channels)
//   du_l = step_l·Σ g_l·B_l + D·dy_l
//   dstep_l = u_l·Σ g_l·B_l + Σ A·g_l·a_l·h_{l-1}         ddelta_l = dstep_l·sigmoid(delta_l +
//   bias) dA += g_l·a_l·h_{l-1}·step_l,  dD += dy_l·u_l,  ddelta_bias += ddelta_l   (summed over
//   batch)
//
// The main kernel walks its chunk twice. Phase 1 runs forward and stores the state before every
// tile; it is skipped when the forward pass kept them (SelectiveScanCudaParams::tile_states). Phase
// 2 walks the tiles backwards; in each it recomputes the state before every kSub positions into
// shared memory, then, kSub positions at a time from the end, recomputes h and a in registers and
// steps g back through them. Phase 2 keeps each lane's states in its own order (state_perm). dB
// and dC are summed over a warp's channels with shuffle butterflies, over the block's warps in
// shared memory, and over channel tiles (groups wider than one block) by a second kernel; dA, dD
// and ddelta_bias over (batch, chunk) by a third.
#include "model/selective_scan_kernels.cuh"

namespace vmunet {
namespace scan {
namespace {

constexpr int kSubTiles = kScanTile / kSub;  // checkpoints per tile
constexpr int kRedPos = kScanTile / 2;       // positions per cross-warp reduction of dB, dC
constexpr int kRedPitch = kRedPos + 1;
constexpr int kCkptFloats = kSubTiles * kHalf * kWarp;  // per warp
constexpr int kRedFloats = kWarp * kRedPitch;           // per warp

// Shared memory of selective_scan_bwd_kernel, in this order (floats):
//   rows [warps][3][kWarpRows][kRow]       u → du, delta → step → ddelta, dy
//   bc   [2][kScanStates][kBcRow]          B, C
//   dts  [dt_rank][kBcRow]                 dt_in (projected Δ only)
//   ckpt [warps][kSubTiles][kHalf][kWarp]  each lane's states before every kSub positions
//   red  [warps][kWarp][kRedPitch]         a warp's sums of dB, dC over its channels
// Phase 1 uses the same memory as two forward_sweep stages (bwd_smem_floats covers both).
__host__ __device__ inline int bwd_rows_floats(int warps) { return warps * 3 * kWarpRows * kRow; }
__host__ __device__ inline int bwd_smem_floats(const SelectiveScanCudaParams& p) {
  const int phase2 =
      bwd_rows_floats(p.warps) + bc_and_dt_floats(p) + p.warps * (kCkptFloats + kRedFloats);
  return max(phase2, 2 * sweep_stage_floats(p));
}

// The sums of dB and dC over the 16 channel rows of the lane's half-warp for one position, from
// the lane's terms after the first butterfly level (slots 0..3, the level 8 lanes apart done as
// the states were walked). Row r ends with state half·8 + state_perm(r)'s dB (r even) or dC (r
// odd): reduce_bc reads them in that order.
__device__ __forceinline__ float sum_rows(float (&b)[kHalf / 2], float (&c)[kHalf / 2], int lane) {
#pragma unroll
  for (int width = kHalf / 4, dist = kWarpRows / 4; width >= 1; width /= 2, dist /= 2) {
#pragma unroll
    for (int i = 0; i < width; ++i) {
      b[i] += __shfl_xor_sync(kFullMask, b[i + width], dist);
      c[i] += __shfl_xor_sync(kFullMask, c[i + width], dist);
    }
  }
  const bool odd = lane & 1;
  return (odd ? c[0] : b[0]) + __shfl_xor_sync(kFullMask, odd ? b[0] : c[0], 1);
}

// Adds the warps' dB, dC sums for positions [l_first, l_first + kRedPos) in warp order and writes
// them out (one channel tile per group) or to this tile's partial.
template <typename T>
__device__ void reduce_bc(const SelectiveScanCudaParams& p, const ScanScratch& s,
                          const BlockCoords& k, const float* red_all, int l_first) {
  for (int i = threadIdx.x; i < kWarp * kRedPos; i += blockDim.x) {
    const int slot = i / kRedPos, pos = i % kRedPos, l = l_first + pos;
    const int n = (slot / kWarpRows) * kHalf + state_perm(slot);
    const int is_c = slot & 1;
    if (l >= p.length || n >= p.dstate) continue;
    const int m = seq_pos(l, p.length, k.rev);
    float sum = 0.f;
    for (int w = 0; w < p.warps; ++w) sum += red_all[(w * kWarp + slot) * kRedPitch + pos];
    if (p.channel_tiles == 1) {
      T* out = static_cast<T*>(is_c ? p.dC : p.dB) + int64_t(k.b) * p.dbc_batch_stride +
               int64_t(k.g) * p.dbc_group_stride + int64_t(n) * p.length + m;
      *out = from_float<T>(sum);
    } else {
      const int64_t tile = (int64_t(k.b) * p.groups + k.g) * p.channel_tiles + k.ctile;
      s.bc_partial[((tile * 2 + is_c) * kScanStates + n) * p.length + m] = sum;
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kScanMaxWarps* kWarp, 1)
    selective_scan_bwd_kernel(const SelectiveScanCudaParams p, const ScanScratch s) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const BlockCoords k = block_coords(p);
  float* const rows_all = smem;
  float* const bc = rows_all + bwd_rows_floats(p.warps);
  float* const dts = bc + 2 * kScanStates * kBcRow;
  float* const ckpt_all = bc + bc_and_dt_floats(p);
  float* const red_all = ckpt_all + p.warps * kCkptFloats;

  // Phase 1: the state before every tile of the chunk, into s.tile_state, unless the forward
  // pass kept them.
  float h[kHalf];
  if (!p.tile_states) {
#pragma unroll
    for (int i = 0; i < kHalf; ++i)
      h[i] = (p.chunks > 1 && k.active)
                 ? s.chunk_state[state_index(p, k.b, k.chunk, p.chunks, k.half * kHalf + i, k.c)]
                 : 0.f;
    float unused = 0.f;
    forward_sweep<T, Sweep::kTileStates>(p, s, k, smem, smem + sweep_stage_floats(p), h, unused);
  }

  // Phase 2.
  const int perm = state_perm(k.lane);
  auto state = [&](int i) { return slot_state(k.half, i, perm); };
  float A2[kHalf], bias, D;
  load_channel(p, k, A2, bias, D, perm);
  float rho[kHalf], dA[kHalf];  // rho = a_{l+1}·g_{l+1}, the carry into position l
#pragma unroll
  for (int i = 0; i < kHalf; ++i) {
    rho[i] = (p.chunks > 1 && k.active)
                 ? s.chunk_rho[state_index(p, k.b, k.chunk, p.chunks, state(i), k.c)]
                 : 0.f;
    dA[i] = 0.f;
  }
  float dD = 0.f, dbias = 0.f;
  const T* u = static_cast<const T*>(p.u) + k.u_row0;
  const T* dy = static_cast<const T*>(p.dy) + k.seq_row0;
  float* const rows = rows_all + k.warp * 3 * kWarpRows * kRow;
  float* const u_row = rows + k.r * kRow;            // u, then du
  float* const step_row = u_row + kWarpRows * kRow;  // delta, step, then ddelta
  const float* const dy_row = step_row + kWarpRows * kRow;
  float* const ck = ckpt_all + k.warp * kCkptFloats + k.lane;  // ck[(sub·kHalf + i)·kWarp]
  float* const red = red_all + (k.warp * kWarp + k.lane) * kRedPitch;
  const float* const Bs = bc + k.half * kHalf * kBcRow;  // the lane's half's first state row
  const float* const Cs = Bs + kScanStates * kBcRow;

  // bf16 rows are widened in registers. Staged by stage_rows, each row set (u, dy, the shared
  // rows) would wait for its loads before the next set's are issued; fetched all at once, the
  // tile waits once, as fp32's cp.async copies do.
  const bool fetch =
      !std::is_same_v<T, float> && sweep_shared_rows(p, true) <= kNextShared * p.warps;

  for (int t = k.t_end - 1; t >= k.t_begin; --t) {
    const int l0 = t * kScanTile;
    __syncwarp();  // the warp's rows were written out before they are refilled
    if (fetch) {
      NextTile<T> f;
      T dyv[kWarpRows];
      fetch_next(f, p, k, u, t, true);
      const int l = l0 + k.lane;
      fetch_rows(dyv, dy, p.seq_channel_stride, l < p.length ? k.rows : 0,
                 seq_pos(l, p.length, k.rev));
      put_next(rows, bc, f, p, k, true);
      put_rows(rows + 2 * kWarpRows * kRow + k.lane, dyv);
    } else {
      stage_rows(rows, u, p.seq_channel_stride, k.rows, l0, p.length, k.rev, k.lane);
      stage_delta<T>(rows + kWarpRows * kRow, p, k, l0);
      stage_rows(rows + 2 * kWarpRows * kRow, dy, p.seq_channel_stride, k.rows, l0, p.length, k.rev,
                 k.lane);
      stage_shared<T>(bc, p, k, l0, 0, 2 * kScanStates + p.dt_rank);
    }
    cp_async_commit();
    if (t > k.t_begin) {
      prefetch_rows(u, p.seq_channel_stride, k.rows, l0 - kScanTile, p.length, k.rev, k.lane);
      prefetch_rows(dy, p.seq_channel_stride, k.rows, l0 - kScanTile, p.length, k.rev, k.lane);
    }
#pragma unroll
    for (int i = 0; i < kHalf; ++i)
      h[i] = k.active ? s.tile_state[state_index(p, k.b, t, p.tiles, state(i), k.c)] : 0.f;
    cp_async_wait<0>();
    __syncthreads();
    make_step(p, k, step_row, dts, bias);

    // 2a: checkpoints of the state before every kSub positions.
#pragma unroll 1
    for (int sub = 0; sub < kSubTiles; ++sub) {
#pragma unroll
      for (int i = 0; i < kHalf; ++i) ck[(sub * kHalf + i) * kWarp] = h[i];
      if (sub + 1 == kSubTiles) break;
      float uu[kSub], step[kSub], stepu[kSub], y[kSub];
      load4(u_row + sub * kSub, uu);
      load4(step_row + sub * kSub, step);
#pragma unroll
      for (int j = 0; j < kSub; ++j) stepu[j] = step[j] * uu[j];
      advance<false>(h, A2, step, stepu, Bs, Cs, sub * kSub, y, perm);
    }

    // 2b: kSub positions at a time from the tile's end. State by state, h and a are recomputed
    // forward from the checkpoint and g is stepped back through them; the sums over states (sB,
    // sA) and the dB, dC terms wait in registers until every state is done. Walking states in the
    // outer loop keeps one state's B and C in registers (two 16-byte loads) and only kSub of its
    // h and a live at a time. Slots are walked 0, 4, 1, 5, ...: once slot i + 4 is done, its dB
    // and dC terms go to the partner 8 lanes away, whose slot i holds the same state, and the
    // terms of slot i take the partner's (the butterfly's first level, sum_rows does the rest).
#pragma unroll 1
    for (int sub = kSubTiles - 1; sub >= 0; --sub) {
      const int q = sub * kSub;
      float uu[kSub], step[kSub], dyv[kSub], stepu[kSub];
      load4(u_row + q, uu);
      load4(step_row + q, step);
      load4(dy_row + q, dyv);
      float sB[kSub], sA[kSub], tb[kSub][kHalf / 2], tc[kSub][kHalf / 2];
#pragma unroll
      for (int j = 0; j < kSub; ++j) {
        stepu[j] = step[j] * uu[j];
        sB[j] = 0.f;
        sA[j] = 0.f;
      }
#pragma unroll
      for (int walk = 0; walk < kHalf; ++walk) {
        const int i = walk / 2 + (walk % 2) * (kHalf / 2);
        float b[kSub], c[kSub], a[kSub], hs[kSub];
        const int row = slot_row(i, perm, q);
        load4(Bs + row, b);
        load4(Cs + row, c);
        const float h0 = ck[(sub * kHalf + i) * kWarp];
        float prev = h0;
#pragma unroll
        for (int j = 0; j < kSub; ++j) {
          a[j] = exp2_ftz(step[j] * A2[i]);
          prev = fmaf(a[j], prev, stepu[j] * b[j]);
          hs[j] = prev;
        }
#pragma unroll
        for (int j = kSub - 1; j >= 0; --j) {
          const float g = fmaf(c[j], dyv[j], rho[i]);
          rho[i] = a[j] * g;
          const float gah = rho[i] * (j > 0 ? hs[j - 1] : h0);
          sB[j] = fmaf(g, b[j], sB[j]);
          sA[j] = fmaf(A2[i], gah, sA[j]);
          dA[i] = fmaf(gah, step[j], dA[i]);
          const float gB = g * stepu[j], gC = dyv[j] * hs[j];
          if (walk % 2 == 0) {
            tb[j][i] = gB;
            tc[j][i] = gC;
          } else {
            tb[j][i - kHalf / 2] += __shfl_xor_sync(kFullMask, gB, kWarpRows / 2);
            tc[j][i - kHalf / 2] += __shfl_xor_sync(kFullMask, gC, kWarpRows / 2);
          }
        }
      }
      float du[kSub], dd[kSub];
#pragma unroll
      for (int j = 0; j < kSub; ++j) {
        red[(q + j) % kRedPos] = sum_rows(tb[j], tc[j], k.lane);
        const float sBj = sB[j] + __shfl_xor_sync(kFullMask, sB[j], kWarpRows);
        const float sAj = sA[j] + __shfl_xor_sync(kFullMask, sA[j], kWarpRows);
        du[j] = fmaf(step[j], sBj, D * dyv[j]);
        dd[j] = fmaf(uu[j], sBj, sAj * kLn2) * softplus_grad_from_value(step[j]);
        dD = fmaf(dyv[j], uu[j], dD);
        dbias += dd[j];
      }
      __syncwarp();  // the partner lane has read u, step at q.. before du, ddelta replace them
      if (k.half == 0) {
        *reinterpret_cast<float4*>(u_row + q) = make_float4(du[0], du[1], du[2], du[3]);
        *reinterpret_cast<float4*>(step_row + q) = make_float4(dd[0], dd[1], dd[2], dd[3]);
      }
      if (q % kRedPos == 0) {
        __syncthreads();
        reduce_bc<T>(p, s, k, red_all, l0 + q);
        __syncthreads();  // red is refilled by the next positions
      }
    }
    write_rows(static_cast<T*>(p.du) + k.seq_row0, p.seq_channel_stride, rows, k.rows, l0, p.length,
               k.rev, k.lane);
    write_rows(static_cast<T*>(p.ddelta) + k.seq_row0, p.seq_channel_stride,
               rows + kWarpRows * kRow, k.rows, l0, p.length, k.rev, k.lane);
  }

  if (!k.active) return;
  const int64_t slot0 = (int64_t(k.b) * p.chunks + k.chunk) * (kScanStates + 2);
#pragma unroll
  for (int i = 0; i < kHalf; ++i) s.param_partial[(slot0 + state(i)) * p.channels + k.c] = dA[i];
  if (k.half == 0) {
    s.param_partial[(slot0 + kScanStates) * p.channels + k.c] = dD;
    s.param_partial[(slot0 + kScanStates + 1) * p.channels + k.c] = dbias;
  }
}

// Chunk pre-pass of the reverse recurrence (chunks > 1): from zero past the chunk's end,
// r ← a_l·(C_l·dy_l + r) down to its first position; chaining these gives each chunk's carry.
template <typename T>
__global__ void __launch_bounds__(kScanMaxWarps* kWarp)
    selective_scan_chunk_state_bwd_kernel(const SelectiveScanCudaParams p, const ScanScratch s) {
  extern __shared__ float4 smem4[];
  float* smem = reinterpret_cast<float*>(smem4);
  const BlockCoords k = block_coords(p);
  float A2[kHalf], bias, D;
  load_channel(p, k, A2, bias, D);
  // rows [warps][2][kWarpRows][kRow] (delta → step, dy), then B and C [2][kScanStates][kBcRow]
  // and dt_in [dt_rank][kBcRow]: one forward_sweep stage.
  float* const rows = smem + k.warp * 2 * kWarpRows * kRow;
  float* const bc = smem + p.warps * 2 * kWarpRows * kRow;
  float* const dts = bc + 2 * kScanStates * kBcRow;
  float* const step_row = rows + k.r * kRow;
  const float* const dy_row = step_row + kWarpRows * kRow;
  const float* const Cs = bc + (kScanStates + k.half * kHalf) * kBcRow;
  const T* dy = static_cast<const T*>(p.dy) + k.seq_row0;
  float r[kHalf] = {};
  for (int t = k.t_end - 1; t >= k.t_begin; --t) {
    const int l0 = t * kScanTile;
    stage_delta<T>(rows, p, k, l0);
    stage_rows(rows + kWarpRows * kRow, dy, p.seq_channel_stride, k.rows, l0, p.length, k.rev,
               k.lane);
    stage_shared<T>(bc, p, k, l0, kScanStates, 2 * kScanStates + p.dt_rank);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    make_step(p, k, step_row, dts, bias);
#pragma unroll 4
    for (int pos = kScanTile - 1; pos >= 0; --pos) {
      const float st = step_row[pos], d = dy_row[pos];
#pragma unroll
      for (int i = 0; i < kHalf; ++i)
        r[i] = exp2_ftz(st * A2[i]) * fmaf(Cs[i * kBcRow + pos], d, r[i]);
    }
    __syncthreads();
  }
  if (!k.active) return;
#pragma unroll
  for (int i = 0; i < kHalf; ++i)
    s.chunk_rho[state_index(p, k.b, k.chunk, p.chunks, k.half * kHalf + i, k.c)] = r[i];
}

// dA, dD, ddelta_bias: one thread per (slot, channel) adds the (batch, chunk) partials in order.
__global__ void selective_scan_param_reduce_bwd_kernel(const SelectiveScanCudaParams p,
                                                       const ScanScratch s) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= int64_t(kScanStates + 2) * p.channels) return;
  const int c = int(i % p.channels), slot = int(i / p.channels);
  if (slot < kScanStates && slot >= p.dstate) return;
  float sum = 0.f;
  for (int bk = 0; bk < p.batch * p.chunks; ++bk)
    sum += s.param_partial[(int64_t(bk) * (kScanStates + 2) + slot) * p.channels + c];
  if (slot < kScanStates)
    p.dA[int64_t(c) * p.dstate + slot] = sum;
  else if (slot == kScanStates)
    p.dD[c] = sum;
  else
    p.ddelta_bias[c] = sum;
}

// dB, dC of groups wider than one block: one thread per output adds the channel tiles in order.
template <typename T>
__global__ void selective_scan_bc_reduce_bwd_kernel(const SelectiveScanCudaParams p,
                                                    const ScanScratch s) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t per_batch_group = int64_t(2) * p.dstate * p.length;
  if (i >= p.batch * p.groups * per_batch_group) return;
  const int l = int(i % p.length);
  const int n = int(i / p.length % p.dstate);
  const int is_c = int(i / (int64_t(p.length) * p.dstate) % 2);
  const int64_t bg = i / per_batch_group;  // b·groups + g
  float sum = 0.f;
  for (int ct = 0; ct < p.channel_tiles; ++ct)
    sum +=
        s.bc_partial[(((bg * p.channel_tiles + ct) * 2 + is_c) * kScanStates + n) * p.length + l];
  const int64_t b = bg / p.groups, g = bg % p.groups;
  T* out = static_cast<T*>(is_c ? p.dC : p.dB);
  out[b * p.dbc_batch_stride + g * p.dbc_group_stride + int64_t(n) * p.length + l] =
      from_float<T>(sum);
}

template <typename T>
void bwd(const SelectiveScanCudaParams& p, cudaStream_t stream) {
  const ScanScratch s = scan_scratch(p, true);
  const dim3 grid = scan_grid(p);
  const int threads = p.warps * kWarp;
  if (p.chunks > 1) {
    selective_scan_chunk_states_fwd(p, s, stream);
    const size_t smem = sweep_stage_floats(p) * sizeof(float);
    set_smem_limit(selective_scan_chunk_state_bwd_kernel<T>, smem,
                   "selective_scan_chunk_state_bwd_kernel");
    selective_scan_chunk_state_bwd_kernel<T><<<grid, threads, smem, stream>>>(p, s);
    VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_chunk_state_bwd_kernel");
    selective_scan_chunk_chain(p, s.chunk_rho, s.chunk_dtsum, true, stream);
  }
  const size_t smem = bwd_smem_floats(p) * sizeof(float);
  set_smem_limit(selective_scan_bwd_kernel<T>, smem, "selective_scan_bwd_kernel");
  selective_scan_bwd_kernel<T><<<grid, threads, smem, stream>>>(p, s);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_bwd_kernel");

  const int64_t params = int64_t(kScanStates + 2) * p.channels;
  selective_scan_param_reduce_bwd_kernel<<<unsigned((params + 255) / 256), 256, 0, stream>>>(p, s);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_param_reduce_bwd_kernel");
  if (p.channel_tiles > 1) {
    const int64_t outputs = int64_t(p.batch) * p.groups * 2 * p.dstate * p.length;
    selective_scan_bc_reduce_bwd_kernel<T>
        <<<unsigned((outputs + 255) / 256), 256, 0, stream>>>(p, s);
    VMUNET_CUDA_CHECK(cudaGetLastError(), "launching selective_scan_bc_reduce_bwd_kernel");
  }
}

}  // namespace
}  // namespace scan

void selective_scan_bwd(const SelectiveScanCudaParams& p, cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    scan::bwd<__nv_bfloat16>(p, stream);
  else
    scan::bwd<float>(p, stream);
}

}  // namespace vmunet
