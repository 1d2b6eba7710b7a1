// CUDA SS2D epilogue (ss2d_epilogue.h): the four scan directions merged back into row-major
// positions, LayerNorm over the channels and the SiLU gate, forward and backward.
//
// The directions arrive as (channel, position) rows in scan-group order: groups 0 and 1 in the
// row-major plane's order, groups 2 and 3 in the transposed plane's. A block moves a tile of 16×16
// positions × 32 channels through shared memory, so that the reads of both planes (runs along w,
// then along h) and the (position, channel) writes are all coalesced. LayerNorm and the gate then
// run one warp per position. The backward pass mirrors both steps; the weight and bias gradients
// are summed per block and then across blocks, in a fixed order.
#include <algorithm>

#include "model/cuda_check.h"
#include "model/ss2d_epilogue_cuda_params.h"

namespace vmunet {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kSide = 16;  // tile positions along h and along w
constexpr int kTilePositions = kSide * kSide;
constexpr int kTileChannels = 32;
constexpr int kTileThreads = 256;
constexpr int kTileCount = kTileChannels * kTilePositions;
// Odd pitches: a warp walking w, h or the channels touches 32 distinct banks.
constexpr int kPitchH = kSide + 1;
constexpr int kPitchC = kSide * kPitchH + 1;
constexpr int kRowWarps = 8;  // positions per block in the row kernels
// The backward's block count depends on the shape alone, so the weight and bias sums come out
// the same on every card.
constexpr int kMaxBwdBlocks = 1024;

__host__ __device__ __forceinline__ int64_t positions(const Ss2dEpilogueParams& p) {
  return int64_t(p.batch) * p.height * p.width;
}

int bwd_blocks(const Ss2dEpilogueParams& p) {
  return int(std::min<int64_t>(kMaxBwdBlocks, (positions(p) + kRowWarps - 1) / kRowWarps));
}

size_t bwd_smem_bytes(const Ss2dEpilogueParams& p) {
  return size_t(kRowWarps) * 2 * p.channels * sizeof(float);
}

// ---- merge and scatter: (channel, position) rows of both planes <-> (position, channel) rows ----

struct Tile {
  int b, c0, h0, w0;
  int64_t length;
};

__device__ __forceinline__ Tile tile_of(const Ss2dEpilogueParams& p) {
  const int tiles_w = (p.width + kSide - 1) / kSide;
  return {int(blockIdx.z), int(blockIdx.y) * kTileChannels, int(blockIdx.x / tiles_w) * kSide,
          int(blockIdx.x % tiles_w) * kSide, int64_t(p.height) * p.width};
}

// Element i of a tile walk: channel c, position (dh, dw); `along_h` makes consecutive i step h.
struct TileSlot {
  int c, dh, dw;
};
__device__ __forceinline__ TileSlot channel_major_slot(int i, bool along_h) {
  const int c = i / kTilePositions, q = i % kTilePositions;
  return along_h ? TileSlot{c, q % kSide, q / kSide} : TileSlot{c, q / kSide, q % kSide};
}
__device__ __forceinline__ TileSlot position_major_slot(int i) {
  const int q = i / kTileChannels;
  return {i % kTileChannels, q / kSide, q % kSide};
}
__device__ __forceinline__ bool inside(const Ss2dEpilogueParams& p, const Tile& t,
                                       const TileSlot& s) {
  return t.c0 + s.c < p.channels && t.h0 + s.dh < p.height && t.w0 + s.dw < p.width;
}
__device__ __forceinline__ int smem_at(const TileSlot& s) {
  return s.c * kPitchC + s.dh * kPitchH + s.dw;
}
// Offset of the slot in one (channel, position) row block of a plane: row-major or transposed.
__device__ __forceinline__ int64_t plane_at(const Ss2dEpilogueParams& p, const Tile& t,
                                            const TileSlot& s, bool transposed) {
  const int h = t.h0 + s.dh, w = t.w0 + s.dw;
  const int64_t position = transposed ? int64_t(w) * p.height + h : int64_t(h) * p.width + w;
  return int64_t(t.c0 + s.c) * t.length + position;
}
__device__ __forceinline__ int64_t merged_at(const Ss2dEpilogueParams& p, const Tile& t,
                                             const TileSlot& s) {
  const int64_t row = (int64_t(t.b) * p.height + t.h0 + s.dh) * p.width + t.w0 + s.dw;
  return row * p.channels + t.c0 + s.c;
}

// merged = (y0 + y1) + (y2 + y3), each direction read at its own plane's index.
template <typename T>
__global__ void __launch_bounds__(kTileThreads)
    merge_directions_kernel(const Ss2dEpilogueParams p) {
  __shared__ float tile[kTileChannels * kPitchC];
  const Tile t = tile_of(p);
  const int64_t group = int64_t(p.channels) * t.length;
  const T* ys = static_cast<const T*>(p.ys) + int64_t(t.b) * 4 * group;
  for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
    const TileSlot s = channel_major_slot(i, false);
    float v = 0.f;
    if (inside(p, t, s)) {
      const int64_t at = plane_at(p, t, s, false);
      v = to_float(ys[at]) + to_float(ys[group + at]);
    }
    tile[smem_at(s)] = v;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
    const TileSlot s = channel_major_slot(i, true);
    if (!inside(p, t, s)) continue;
    const int64_t at = plane_at(p, t, s, true);
    tile[smem_at(s)] += to_float(ys[2 * group + at]) + to_float(ys[3 * group + at]);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
    const TileSlot s = position_major_slot(i);
    if (inside(p, t, s)) p.merged[merged_at(p, t, s)] = tile[smem_at(s)];
  }
}

// Each direction's gradient is dmerged read back at its plane's index.
template <typename T>
__global__ void __launch_bounds__(kTileThreads)
    scatter_directions_kernel(const Ss2dEpilogueParams p) {
  __shared__ float tile[kTileChannels * kPitchC];
  const Tile t = tile_of(p);
  const int64_t group = int64_t(p.channels) * t.length;
  T* dys = static_cast<T*>(p.dys) + int64_t(t.b) * 4 * group;
  for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
    const TileSlot s = position_major_slot(i);
    if (inside(p, t, s)) tile[smem_at(s)] = p.dmerged[merged_at(p, t, s)];
  }
  __syncthreads();
  for (int plane = 0; plane < 2; ++plane) {
    const bool transposed = plane == 1;
    T* dy = dys + 2 * plane * group;
    for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
      const TileSlot s = channel_major_slot(i, transposed);
      if (!inside(p, t, s)) continue;
      const int64_t at = plane_at(p, t, s, transposed);
      const T g = from_float<T>(tile[smem_at(s)]);
      dy[at] = g;
      dy[group + at] = g;
    }
  }
}

dim3 tile_grid(const Ss2dEpilogueParams& p) {
  const int tiles = ((p.height + kSide - 1) / kSide) * ((p.width + kSide - 1) / kSide);
  return dim3(unsigned(tiles), unsigned((p.channels + kTileChannels - 1) / kTileChannels),
              unsigned(p.batch));
}

// ---- LayerNorm and gate: one warp per position ----

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset >>= 1) x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

template <typename Z>
__device__ __forceinline__ const Z* z_row(const Ss2dEpilogueParams& p, int64_t r) {
  const int64_t length = int64_t(p.height) * p.width;
  return static_cast<const Z*>(p.z) + (r / length) * p.z_batch_stride +
         (r % length) * p.z_position_stride;
}

template <typename T, typename Z>
__global__ void __launch_bounds__(kRowWarps* kWarp)
    norm_gate_fwd_kernel(const Ss2dEpilogueParams p) {
  const int lane = threadIdx.x % kWarp;
  const int64_t r = int64_t(blockIdx.x) * kRowWarps + threadIdx.x / kWarp;
  if (r >= positions(p)) return;
  const int C = p.channels;
  const float* x = p.merged + r * C;
  // Two passes (mean, then the centred variance) as LayerNorm does: no cancellation.
  float sum = 0.f;
  for (int c = lane; c < C; c += kWarp) sum += x[c];
  const float mean = warp_sum(sum) / C;
  float sq = 0.f;
  for (int c = lane; c < C; c += kWarp) {
    const float d = x[c] - mean;
    sq += d * d;
  }
  const float rstd = rsqrtf(warp_sum(sq) / C + p.eps);
  const Z* z = z_row<Z>(p, r);
  T* out = static_cast<T*>(p.out) + r * C;
  for (int c = lane; c < C; c += kWarp) {
    const float n = (x[c] - mean) * rstd * p.weight[c] + p.bias[c];
    const float zc = to_float(z[c]);
    out[c] = from_float<T>(n * zc * sigmoid(zc));
  }
  if (lane == 0) {
    p.mean[r] = mean;
    p.rstd[r] = rstd;
  }
}

// Per position: dz, and dmerged = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dout·gate·weight.
// Each warp sums its positions' dweight = Σ dn·x̂ and dbias = Σ dn (dn = dout·gate) per channel in
// its own shared-memory row; the block then writes the sum of its warps' rows to `partials`.
template <typename T, typename Z>
__global__ void __launch_bounds__(kRowWarps* kWarp)
    norm_gate_bwd_kernel(const Ss2dEpilogueParams p) {
  extern __shared__ float warp_partials[];  // (kRowWarps, 2, channels)
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, C = p.channels;
  float* dweight = warp_partials + int64_t(warp) * 2 * C;
  float* dbias = dweight + C;
  for (int c = lane; c < C; c += kWarp) dweight[c] = dbias[c] = 0.f;
  for (int64_t r = int64_t(blockIdx.x) * kRowWarps + warp; r < positions(p);
       r += int64_t(gridDim.x) * kRowWarps) {
    const float mean = p.mean[r], rstd = p.rstd[r];
    const float* x = p.merged + r * C;
    const T* dout = static_cast<const T*>(p.dout) + r * C;
    const Z* z = z_row<Z>(p, r);
    Z* dz = static_cast<Z*>(p.dz) + r * C;
    float mean_dxhat = 0.f, mean_dxhat_xhat = 0.f;
    for (int c = lane; c < C; c += kWarp) {
      const float xhat = (x[c] - mean) * rstd;
      const float zc = to_float(z[c]), sg = sigmoid(zc), g = to_float(dout[c]);
      const float n = xhat * p.weight[c] + p.bias[c];
      const float dn = g * zc * sg;
      dz[c] = from_float<Z>(g * n * sg * (1.f + zc * (1.f - sg)));
      dweight[c] += dn * xhat;
      dbias[c] += dn;
      const float dxhat = dn * p.weight[c];
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * xhat;
    }
    mean_dxhat = warp_sum(mean_dxhat) / C;
    mean_dxhat_xhat = warp_sum(mean_dxhat_xhat) / C;
    float* dx = p.dmerged + r * C;
    for (int c = lane; c < C; c += kWarp) {
      const float xhat = (x[c] - mean) * rstd;
      const float zc = to_float(z[c]);
      const float dxhat = to_float(dout[c]) * zc * sigmoid(zc) * p.weight[c];
      dx[c] = rstd * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
    }
  }
  __syncthreads();
  for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) {
    float sum = 0.f;
    for (int w = 0; w < kRowWarps; ++w) sum += warp_partials[int64_t(w) * 2 * C + c];
    p.partials[int64_t(blockIdx.x) * 2 * C + c] = sum;
  }
}

__global__ void norm_gate_param_sum_kernel(const Ss2dEpilogueParams p, int blocks) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int C = p.channels;
  if (i >= 2 * C) return;
  float sum = 0.f;
  for (int b = 0; b < blocks; ++b) sum += p.partials[int64_t(b) * 2 * C + i];
  if (i < C)
    p.dweight[i] = sum;
  else
    p.dbias[i - C] = sum;
}

void check_launch(const char* what) { VMUNET_CUDA_CHECK(cudaGetLastError(), what); }

template <typename T, typename Z>
void launch_fwd(const Ss2dEpilogueParams& p, cudaStream_t stream) {
  merge_directions_kernel<T><<<tile_grid(p), kTileThreads, 0, stream>>>(p);
  check_launch("launching the SS2D direction merge");
  const auto blocks = unsigned((positions(p) + kRowWarps - 1) / kRowWarps);
  norm_gate_fwd_kernel<T, Z><<<blocks, kRowWarps * kWarp, 0, stream>>>(p);
  check_launch("launching the SS2D LayerNorm and gate");
}

template <typename T, typename Z>
void launch_bwd(const Ss2dEpilogueParams& p, cudaStream_t stream) {
  const size_t smem = bwd_smem_bytes(p);
  VMUNET_CUDA_CHECK(cudaFuncSetAttribute(norm_gate_bwd_kernel<T, Z>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
                    "raising the shared-memory limit of the SS2D epilogue backward");
  const int blocks = bwd_blocks(p);
  norm_gate_bwd_kernel<T, Z><<<blocks, kRowWarps * kWarp, smem, stream>>>(p);
  check_launch("launching the SS2D LayerNorm and gate backward");
  norm_gate_param_sum_kernel<<<(2 * p.channels + 255) / 256, 256, 0, stream>>>(p, blocks);
  check_launch("launching the SS2D LayerNorm parameter sums");
  scatter_directions_kernel<T><<<tile_grid(p), kTileThreads, 0, stream>>>(p);
  check_launch("launching the SS2D direction scatter");
}

template <typename T>
struct Type {
  using type = T;
};

// Calls f(Type<y element>, Type<z element>) for the problem's dtypes.
template <typename F>
void with_dtypes(const Ss2dEpilogueParams& p, F&& f) {
  auto with_z = [&](auto y) {
    if (p.z_dtype == CudaDtype::kBFloat16)
      f(y, Type<__nv_bfloat16>{});
    else
      f(y, Type<float>{});
  };
  if (p.y_dtype == CudaDtype::kBFloat16)
    with_z(Type<__nv_bfloat16>{});
  else
    with_z(Type<float>{});
}

}  // namespace

int64_t ss2d_epilogue_partial_floats(const Ss2dEpilogueParams& p) {
  return int64_t(bwd_blocks(p)) * 2 * p.channels;
}

void ss2d_epilogue_fwd(const Ss2dEpilogueParams& p, cudaStream_t stream) {
  with_dtypes(p, [&](auto y, auto z) {
    launch_fwd<typename decltype(y)::type, typename decltype(z)::type>(p, stream);
  });
}

void ss2d_epilogue_bwd(const Ss2dEpilogueParams& p, cudaStream_t stream) {
  with_dtypes(p, [&](auto y, auto z) {
    launch_bwd<typename decltype(y)::type, typename decltype(z)::type>(p, stream);
  });
}

}  // namespace vmunet
