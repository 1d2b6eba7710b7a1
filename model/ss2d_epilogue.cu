// CUDA SS2D direction merge (ss2d_epilogue.h): the four scan directions summed back into
// row-major (position, channel) rows, and the backward scatter of their gradient.
//
// The directions arrive as (channel, position) rows in scan-group order: groups 0 and 1 in the
// row-major plane's order, groups 2 and 3 in the transposed plane's. A block moves a tile of 16×16
// positions × 32 channels through shared memory, so that the reads of both planes (runs along w,
// then along h) and the (position, channel) writes are all coalesced; the scatter mirrors it.
// Where the planes allow (height and width whole numbers of 16-byte runs, aligned), each thread
// moves 16 bytes of a run at a time: one bf16 position per thread put 64 bytes in a warp's access
// and held the stage-1 merge to 1.3 TB/s on the H200.
#include "model/cuda_check.h"
#include "model/cuda_vec16.h"
#include "model/ss2d_epilogue_cuda_params.h"

namespace vmunet {
namespace {

constexpr int kSide = 16;  // tile positions along h and along w
constexpr int kTilePositions = kSide * kSide;
constexpr int kTileChannels = 32;
constexpr int kTileThreads = 256;
constexpr int kTileCount = kTileChannels * kTilePositions;
// Odd pitches: a warp walking w, h or the channels touches 32 distinct banks.
constexpr int kPitchH = kSide + 1;
constexpr int kPitchC = kSide * kPitchH + 1;
struct Tile {
  int b, c0, h0, w0;
  int64_t length;
};

__device__ __forceinline__ Tile tile_of(const Ss2dDirectionsParams& p) {
  const int tiles_w = (p.width + kSide - 1) / kSide;
  return {int(blockIdx.z), int(blockIdx.y) * kTileChannels, int(blockIdx.x / tiles_w) * kSide,
          int(blockIdx.x % tiles_w) * kSide, int64_t(p.height) * p.width};
}

// A tile slot: channel c, position (dh, dw).
struct TileSlot {
  int c, dh, dw;
};
// The first slot of run i of a channel-major tile walk in runs of kRun positions along h
// (`along_h`) or along w; consecutive i step along the run's direction, then across it.
template <int kRun>
__device__ __forceinline__ TileSlot run_slot(int i, bool along_h) {
  constexpr int kRuns = kSide / kRun;  // runs per tile row
  const int c = i / (kSide * kRuns), across = i / kRuns % kSide, along = i % kRuns * kRun;
  return along_h ? TileSlot{c, along, across} : TileSlot{c, across, along};
}
__device__ __forceinline__ TileSlot run_step(TileSlot s, int j, bool along_h) {
  if (along_h)
    s.dh += j;
  else
    s.dw += j;
  return s;
}
__device__ __forceinline__ TileSlot position_major_slot(int i) {
  const int q = i / kTileChannels;
  return {i % kTileChannels, q / kSide, q % kSide};
}
__device__ __forceinline__ bool inside(const Ss2dDirectionsParams& p, const Tile& t,
                                       const TileSlot& s) {
  return t.c0 + s.c < p.channels && t.h0 + s.dh < p.height && t.w0 + s.dw < p.width;
}
__device__ __forceinline__ int smem_at(const TileSlot& s) {
  return s.c * kPitchC + s.dh * kPitchH + s.dw;
}
// Offset of the slot in one (channel, position) row block of a plane: row-major or transposed.
__device__ __forceinline__ int64_t plane_at(const Ss2dDirectionsParams& p, const Tile& t,
                                            const TileSlot& s, bool transposed) {
  const int h = t.h0 + s.dh, w = t.w0 + s.dw;
  const int64_t position = transposed ? int64_t(w) * p.height + h : int64_t(h) * p.width + w;
  return int64_t(t.c0 + s.c) * t.length + position;
}
__device__ __forceinline__ int64_t merged_at(const Ss2dDirectionsParams& p, const Tile& t,
                                             const TileSlot& s) {
  const int64_t row = (int64_t(t.b) * p.height + t.h0 + s.dh) * p.width + t.w0 + s.dw;
  return row * p.channels + t.c0 + s.c;
}

// Whether both planes at `planes` can be moved in 16-byte runs along w and along h; a run is then
// wholly inside the image or wholly outside it.
template <typename T>
__device__ __forceinline__ bool runs_fit(const Ss2dDirectionsParams& p, const void* planes) {
  return reinterpret_cast<uintptr_t>(planes) % 16 == 0 && p.height % kVec16<T> == 0 &&
         p.width % kVec16<T> == 0;
}

// tile = (y0 + y1) + (y2 + y3) over the tile, each direction read at its own plane's index.
template <typename T, int kRun>
__device__ __forceinline__ void gather_directions(const Ss2dDirectionsParams& p, const Tile& t,
                                                  const T* ys, int64_t group, float* tile) {
  for (int plane = 0; plane < 2; ++plane) {
    const bool transposed = plane == 1;
    const T* y = ys + 2 * plane * group;
    for (int i = threadIdx.x; i < kTileCount / kRun; i += kTileThreads) {
      const TileSlot s = run_slot<kRun>(i, transposed);
      const bool in = inside(p, t, s);
      if (transposed && !in) continue;
      float a[kRun] = {}, b[kRun] = {};
      if (in) {
        const int64_t at = plane_at(p, t, s, transposed);
        load_run(y + at, a);
        load_run(y + group + at, b);
      }
#pragma unroll
      for (int j = 0; j < kRun; ++j) {
        float& slot = tile[smem_at(run_step(s, j, transposed))];
        slot = transposed ? slot + (a[j] + b[j]) : a[j] + b[j];
      }
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void __launch_bounds__(kTileThreads)
    merge_directions_kernel(const Ss2dDirectionsParams p) {
  __shared__ float tile[kTileChannels * kPitchC];
  const Tile t = tile_of(p);
  const int64_t group = int64_t(p.channels) * t.length;
  const T* ys = static_cast<const T*>(p.ys) + int64_t(t.b) * 4 * group;
  if (runs_fit<T>(p, p.ys))
    gather_directions<T, kVec16<T>>(p, t, ys, group, tile);
  else
    gather_directions<T, 1>(p, t, ys, group, tile);
  for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
    const TileSlot s = position_major_slot(i);
    if (inside(p, t, s)) p.merged[merged_at(p, t, s)] = tile[smem_at(s)];
  }
}

// Each direction's gradient is the tile read back at its plane's index.
template <typename T, int kRun>
__device__ __forceinline__ void scatter_tile(const Ss2dDirectionsParams& p, const Tile& t, T* dys,
                                             int64_t group, const float* tile) {
  for (int plane = 0; plane < 2; ++plane) {
    const bool transposed = plane == 1;
    T* dy = dys + 2 * plane * group;
    for (int i = threadIdx.x; i < kTileCount / kRun; i += kTileThreads) {
      const TileSlot s = run_slot<kRun>(i, transposed);
      if (!inside(p, t, s)) continue;
      float g[kRun];
#pragma unroll
      for (int j = 0; j < kRun; ++j) g[j] = tile[smem_at(run_step(s, j, transposed))];
      const int64_t at = plane_at(p, t, s, transposed);
      store_run(dy + at, g);
      store_run(dy + group + at, g);
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kTileThreads)
    scatter_directions_kernel(const Ss2dDirectionsParams p) {
  __shared__ float tile[kTileChannels * kPitchC];
  const Tile t = tile_of(p);
  const int64_t group = int64_t(p.channels) * t.length;
  T* dys = static_cast<T*>(p.dys) + int64_t(t.b) * 4 * group;
  for (int i = threadIdx.x; i < kTileCount; i += kTileThreads) {
    const TileSlot s = position_major_slot(i);
    if (inside(p, t, s)) tile[smem_at(s)] = p.dmerged[merged_at(p, t, s)];
  }
  __syncthreads();
  if (runs_fit<T>(p, p.dys))
    scatter_tile<T, kVec16<T>>(p, t, dys, group, tile);
  else
    scatter_tile<T, 1>(p, t, dys, group, tile);
}

dim3 tile_grid(const Ss2dDirectionsParams& p) {
  const int tiles = ((p.height + kSide - 1) / kSide) * ((p.width + kSide - 1) / kSide);
  return dim3(unsigned(tiles), unsigned((p.channels + kTileChannels - 1) / kTileChannels),
              unsigned(p.batch));
}

}  // namespace

void ss2d_merge_directions(const Ss2dDirectionsParams& p, cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    merge_directions_kernel<__nv_bfloat16><<<tile_grid(p), kTileThreads, 0, stream>>>(p);
  else
    merge_directions_kernel<float><<<tile_grid(p), kTileThreads, 0, stream>>>(p);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the SS2D direction merge");
}

void ss2d_scatter_directions(const Ss2dDirectionsParams& p, cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    scatter_directions_kernel<__nv_bfloat16><<<tile_grid(p), kTileThreads, 0, stream>>>(p);
  else
    scatter_directions_kernel<float><<<tile_grid(p), kTileThreads, 0, stream>>>(p);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the SS2D direction scatter");
}

}  // namespace vmunet
