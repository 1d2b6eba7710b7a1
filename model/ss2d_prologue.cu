// CUDA SS2D prologue (ss2d_prologue.h): SiLU(depthwise 3×3 convolution + bias) of the
// channels-last in_proj slice, written straight into the scan's two planes, and its backward.
//
// A block owns a tile of 16×16 positions (8×8 on small images) and a few channels. It stages the
// input around the tile (a halo of one position forward, two backward) channel-major in shared
// memory, so that the reads of x run along its contiguous channels and the stencil reads runs of
// positions. The forward writes the row-major plane from registers and the transposed plane through
// shared memory, both coalesced. The backward adds the two planes' gradients over the tile and its
// one-position halo, turns them into dz = dy·SiLU'(z) with z recomputed, and from dz forms dx (the
// stencil with the weights flipped) and the tile's sums for dweight and dbias; a second kernel adds
// the tiles' sums in a fixed order, so the backward is deterministic.
#include "model/cuda_check.h"
#include "model/cuda_vec16.h"
#include "model/ss2d_prologue_cuda_params.h"

namespace vmunet {
namespace {

constexpr int kTapsAndBias = kPrologueTaps + 1;
constexpr int kFwdChannels = 32;  // forward: channels per block
constexpr int kBwdChannels = 16;  // backward: channels per block

// A tile of kSide × kSide positions: 16, or 8 where the image has a side of at most 8 (stage 4's
// 8 × 8 would leave three quarters of a 16-tile idle). The forward runs a thread per position
// over x and a one-position halo; the backward has dz over a one-position halo, so x over a
// two-position one, and a thread per (channel, column) for the weight sums.
template <int kSide>
struct Geometry {
  static constexpr int kFwdThreads = kSide * kSide;
  static constexpr int kFwdHalo = kSide + 2;
  static constexpr int kFwdInPitch = kFwdHalo * kFwdHalo + 1;  // odd: a warp walking channels
                                                               // hits 32 banks
  static constexpr int kOutPitch = kSide + 1;
  static constexpr int kOutChannelPitch = kSide * kOutPitch + 1;

  static constexpr int kBwdThreads = kBwdChannels * kSide;
  static constexpr int kBwdHalo = kSide + 4;
  static constexpr int kBwdInPitch = kBwdHalo * kBwdHalo + 1;
  static constexpr int kGradHalo = kSide + 2;
  static constexpr int kGradRow = kGradHalo + 1;
  static constexpr int kGradPitch = kGradHalo * kGradRow + 1;
};

int tile_side(const Ss2dPrologueParams& p) { return p.height <= 8 || p.width <= 8 ? 8 : 16; }

struct Tile {
  int b, c0, h0, w0;
};

template <int kSide>
__device__ __forceinline__ Tile tile_of(const Ss2dPrologueParams& p, int channels) {
  const int tiles_w = (p.width + kSide - 1) / kSide;
  return {int(blockIdx.z), int(blockIdx.y) * channels, int(blockIdx.x / tiles_w) * kSide,
          int(blockIdx.x % tiles_w) * kSide};
}

__device__ __forceinline__ bool in_image(const Ss2dPrologueParams& p, int h, int w) {
  return h >= 0 && h < p.height && w >= 0 && w < p.width;
}

// ws[c·10 + tap] = weight, ws[c·10 + 9] = bias, for the tile's channels (zero past the last).
__device__ __forceinline__ void stage_weights(const Ss2dPrologueParams& p, int c0, int channels,
                                              float* ws) {
  for (int i = threadIdx.x; i < channels * kTapsAndBias; i += blockDim.x) {
    const int c = c0 + i / kTapsAndBias, e = i % kTapsAndBias;
    float v = 0.f;
    if (c < p.channels) v = e < kPrologueTaps ? p.weight[c * kPrologueTaps + e] : p.bias[c];
    ws[i] = v;
  }
}

// xs[c·pitch + r·halo + s] = x at (h0 − margin + r, w0 − margin + s), channel c0 + c; zero outside
// the image. Each thread reads a run of kRun consecutive channels of one position: 16 bytes
// where x allows (aligned, a whole number of 16-byte runs per position), else one channel, a
// sixteenth of the bytes per instruction.
template <typename T, int kRun>
__device__ __forceinline__ void stage_x_runs(const Ss2dPrologueParams& p, const Tile& t,
                                             int channels, int halo, int margin, int pitch,
                                             float* xs) {
  const T* x = static_cast<const T*>(p.x) + int64_t(t.b) * p.x_batch_stride;
  const int runs = channels / kRun;
  for (int i = threadIdx.x; i < runs * halo * halo; i += blockDim.x) {
    const int c = i % runs * kRun, pos = i / runs;
    const int h = t.h0 - margin + pos / halo, w = t.w0 - margin + pos % halo;
    float v[kRun] = {};
    if (in_image(p, h, w) && t.c0 + c < p.channels)
      load_run(x + h * p.x_row_stride + w * p.x_col_stride + t.c0 + c, v);
#pragma unroll
    for (int j = 0; j < kRun; ++j) xs[(c + j) * pitch + pos] = v[j];
  }
}
template <typename T>
__device__ __forceinline__ void stage_x(const Ss2dPrologueParams& p, const Tile& t, int channels,
                                        int halo, int margin, int pitch, float* xs) {
  constexpr int kVec = kVec16<T>;
  const bool runs_fit = reinterpret_cast<uintptr_t>(p.x) % 16 == 0 &&
                        p.x_batch_stride % kVec == 0 && p.x_row_stride % kVec == 0 &&
                        p.x_col_stride % kVec == 0 && p.channels % kVec == 0 &&
                        channels % kVec == 0;
  if (runs_fit)
    stage_x_runs<T, kVec>(p, t, channels, halo, margin, pitch, xs);
  else
    stage_x_runs<T, 1>(p, t, channels, halo, margin, pitch, xs);
}

// bias + Σ w·x over the 3×3 window whose top-left is (r, s) of a channel's staged rows.
__device__ __forceinline__ float conv_at(const float* xs_c, int halo, int r, int s,
                                         const float* ws_c) {
  float z = ws_c[kPrologueTaps];
#pragma unroll
  for (int ky = 0; ky < kPrologueKernel; ++ky)
#pragma unroll
    for (int kx = 0; kx < kPrologueKernel; ++kx)
      z = fmaf(ws_c[ky * kPrologueKernel + kx], xs_c[(r + ky) * halo + s + kx], z);
  return z;
}

__device__ __forceinline__ float sigmoid(float z) { return 1.f / (1.f + expf(-z)); }
// The backward's sigmoid, for SiLU's derivative only, from the MUFU's exp2 and an approximate
// division (a few ulp): expf and the IEEE division were a third of the instructions per halo
// position where z is recomputed. The forward keeps the exact form its outputs are checked with.
__device__ __forceinline__ float sigmoid_for_grad(float z) {
  return __fdividef(1.f, 1.f + __expf(-z));
}

template <typename T, int kSide>
__global__ void __launch_bounds__(Geometry<kSide>::kFwdThreads)
    ss2d_prologue_fwd_kernel(const Ss2dPrologueParams p) {
  using G = Geometry<kSide>;
  constexpr int kFwdHalo = G::kFwdHalo, kFwdInPitch = G::kFwdInPitch;
  constexpr int kOutPitch = G::kOutPitch, kOutChannelPitch = G::kOutChannelPitch;
  __shared__ float smem[kFwdChannels * kFwdInPitch];  // x, then the transposed plane's tile
  __shared__ float ws[kFwdChannels * kTapsAndBias];
  const Tile t = tile_of<kSide>(p, kFwdChannels);
  stage_weights(p, t.c0, kFwdChannels, ws);
  stage_x<T>(p, t, kFwdChannels, kFwdHalo, 1, kFwdInPitch, smem);
  __syncthreads();

  const int64_t L = int64_t(p.height) * p.width;
  T* const planes = static_cast<T*>(p.planes) + int64_t(t.b) * 2 * p.channels * L;
  const int channels = min(kFwdChannels, p.channels - t.c0);
  // Row-major plane: consecutive threads step w.
  const int dh = threadIdx.x / kSide, dw = threadIdx.x % kSide;
  const bool inside = t.h0 + dh < p.height && t.w0 + dw < p.width;
  const int64_t at = int64_t(t.h0 + dh) * p.width + t.w0 + dw;
  float y[kFwdChannels];
#pragma unroll
  for (int c = 0; c < kFwdChannels; ++c) {
    const float z = conv_at(smem + c * kFwdInPitch, kFwdHalo, dh, dw, ws + c * kTapsAndBias);
    y[c] = z * sigmoid(z);
    if (inside && c < channels) planes[(t.c0 + c) * L + at] = from_float<T>(y[c]);
  }
  __syncthreads();  // every thread is done with x
#pragma unroll
  for (int c = 0; c < kFwdChannels; ++c) smem[c * kOutChannelPitch + dw * kOutPitch + dh] = y[c];
  __syncthreads();
  // Transposed plane: consecutive threads step h.
  const int th = threadIdx.x % kSide, tw = threadIdx.x / kSide;
  if (t.h0 + th >= p.height || t.w0 + tw >= p.width) return;
  T* const plane1 = planes + p.channels * L + int64_t(t.w0 + tw) * p.height + t.h0 + th;
  for (int c = 0; c < channels; ++c)
    plane1[(t.c0 + c) * L] = from_float<T>(smem[c * kOutChannelPitch + tw * kOutPitch + th]);
}

// ds[c·kGradPitch + r·kGradRow + s] = dy at (h0 − 1 + r, w0 − 1 + s) of the tile's channel
// c0 + c: the row-major plane's gradient plus the transposed plane's, zero outside the image.
// Each plane is read along its contiguous axis in lines of kSide + 2 positions: the tile's kSide
// in 16-byte runs where the plane's layout aligns them and they lie in the image, the two halo
// positions (and any other run) one element at a time. The sum is formed in the same order as
// element by element (the row-major plane stored, the transposed one added).
template <typename T, int kSide>
__device__ __forceinline__ void stage_plane_grads(const Ss2dPrologueParams& p, const Tile& t,
                                                  float* ds) {
  using G = Geometry<kSide>;
  constexpr int kRun = kVec16<T>;
  constexpr int kRuns = kSide / kRun;  // per line
  constexpr int kPieces = kRuns + 2;   // the runs, then the halo position before and after
  constexpr int kLines = kBwdChannels * G::kGradHalo;
  const int64_t L = int64_t(p.height) * p.width;
  const T* const dplanes = static_cast<const T*>(p.dplanes) + int64_t(t.b) * 2 * p.channels * L;
  for (int plane = 0; plane < 2; ++plane) {
    const bool transposed = plane == 1;
    // Along: the plane's contiguous axis (w in the row-major plane); across: the other.
    const int along = transposed ? p.height : p.width, across = transposed ? p.width : p.height;
    const int along0 = (transposed ? t.h0 : t.w0) - 1, across0 = (transposed ? t.w0 : t.h0) - 1;
    const bool runs_fit =
        reinterpret_cast<uintptr_t>(p.dplanes) % 16 == 0 && L % kRun == 0 && along % kRun == 0;
    const T* const dy = dplanes + plane * p.channels * L;
    for (int i = threadIdx.x; i < kLines * kPieces; i += blockDim.x) {
      const int piece = i % kPieces, line = i / kPieces;
      const int c = line / G::kGradHalo, o = line % G::kGradHalo;  // o: the line's index across
      const int first = piece < kRuns ? 1 + piece * kRun : (piece == kRuns ? 0 : kSide + 1);
      const int count = piece < kRuns ? kRun : 1;
      const int a = along0 + first, q = across0 + o;  // image coordinates of the piece's start
      const bool line_in = q >= 0 && q < across && t.c0 + c < p.channels;
      const T* const src = dy + (t.c0 + c) * L + int64_t(q) * along + a;
      float v[kRun] = {};
      if (line_in && count == kRun && runs_fit && a + kRun <= along) {
        load_vec16(src, v);
      } else if (line_in) {
#pragma unroll
        for (int j = 0; j < kRun; ++j)
          if (j < count && a + j >= 0 && a + j < along) v[j] = to_float(src[j]);
      }
#pragma unroll
      for (int j = 0; j < kRun; ++j) {
        if (j >= count) break;
        const int k = first + j;  // the position's index along the line
        float* const slot =
            ds + c * G::kGradPitch + (transposed ? k * G::kGradRow + o : o * G::kGradRow + k);
        if (transposed)
          *slot += v[j];
        else
          *slot = v[j];
      }
    }
    __syncthreads();
  }
}

template <typename T, int kSide>
__global__ void __launch_bounds__(Geometry<kSide>::kBwdThreads)
    ss2d_prologue_bwd_kernel(const Ss2dPrologueParams p) {
  using G = Geometry<kSide>;
  constexpr int kThreads = G::kBwdThreads, kTileSlots = kSide * kSide;
  constexpr int kBwdHalo = G::kBwdHalo, kBwdInPitch = G::kBwdInPitch;
  constexpr int kGradHalo = G::kGradHalo, kGradRow = G::kGradRow, kGradPitch = G::kGradPitch;
  __shared__ float xs[kBwdChannels * kBwdInPitch];
  __shared__ float ds[kBwdChannels * kGradPitch];  // dy, then dz, over the tile and its halo
  __shared__ float ws[kBwdChannels * kTapsAndBias];
  const Tile t = tile_of<kSide>(p, kBwdChannels);
  stage_weights(p, t.c0, kBwdChannels, ws);
  stage_x<T>(p, t, kBwdChannels, kBwdHalo, 2, kBwdInPitch, xs);

  stage_plane_grads<T, kSide>(p, t, ds);
  constexpr int kHaloSlots = kGradHalo * kGradHalo;

  // dz = dy·SiLU'(z), z recomputed; zero outside the image (no output there).
  for (int i = threadIdx.x; i < kBwdChannels * kHaloSlots; i += kThreads) {
    const int c = i / kHaloSlots, pos = i % kHaloSlots;
    const int r = pos / kGradHalo, s = pos % kGradHalo;
    if (!in_image(p, t.h0 - 1 + r, t.w0 - 1 + s)) continue;
    float* const slot = ds + c * kGradPitch + r * kGradRow + s;
    const float z = conv_at(xs + c * kBwdInPitch, kBwdHalo, r, s, ws + c * kTapsAndBias);
    const float sg = sigmoid_for_grad(z);
    *slot *= sg * (1.f + z * (1.f - sg));
  }
  __syncthreads();

  // dx(h, w) = Σ w[ky][kx]·dz(h + 1 − ky, w + 1 − kx): consecutive threads step the channels.
  T* const dx = static_cast<T*>(p.dx);
  for (int i = threadIdx.x; i < kBwdChannels * kTileSlots; i += kThreads) {
    const int c = i % kBwdChannels, q = i / kBwdChannels;
    const int dh = q / kSide, dw = q % kSide, h = t.h0 + dh, w = t.w0 + dw;
    if (h >= p.height || w >= p.width || t.c0 + c >= p.channels) continue;
    const float* const ds_c = ds + c * kGradPitch;
    const float* const ws_c = ws + c * kTapsAndBias;
    float acc = 0.f;
#pragma unroll
    for (int ky = 0; ky < kPrologueKernel; ++ky)
#pragma unroll
      for (int kx = 0; kx < kPrologueKernel; ++kx)
        acc = fmaf(ws_c[ky * kPrologueKernel + kx], ds_c[(dh + 2 - ky) * kGradRow + dw + 2 - kx],
                   acc);
    dx[t.b * p.dx_batch_stride + h * p.dx_row_stride + w * p.dx_col_stride + t.c0 + c] =
        from_float<T>(acc);
  }

  // The tile's dweight[c][ky][kx] = Σ dz(h, w)·x(h + ky − 1, w + kx − 1) and dbias[c] = Σ dz:
  // kSide threads per channel, each over one column of the tile, then a fixed butterfly.
  const int c = threadIdx.x / kSide, dw = threadIdx.x % kSide;
  float acc[kTapsAndBias] = {};
  const float* const ds_c = ds + c * kGradPitch;
  const float* const xs_c = xs + c * kBwdInPitch;
#pragma unroll 4
  for (int dh = 0; dh < kSide; ++dh) {
    const float dz = ds_c[(dh + 1) * kGradRow + dw + 1];
#pragma unroll
    for (int ky = 0; ky < kPrologueKernel; ++ky)
#pragma unroll
      for (int kx = 0; kx < kPrologueKernel; ++kx)
        acc[ky * kPrologueKernel + kx] =
            fmaf(dz, xs_c[(dh + ky + 1) * kBwdHalo + dw + kx + 1], acc[ky * kPrologueKernel + kx]);
    acc[kPrologueTaps] += dz;
  }
#pragma unroll
  for (int e = 0; e < kTapsAndBias; ++e)
#pragma unroll
    for (int width = kSide / 2; width >= 1; width /= 2)
      acc[e] += __shfl_xor_sync(0xffffffffu, acc[e], width);
  if (dw != 0 || t.c0 + c >= p.channels) return;
  const int tiles = gridDim.x;
  float* const out =
      p.partials + ((int64_t(t.b) * tiles + blockIdx.x) * p.channels + t.c0 + c) * kTapsAndBias;
#pragma unroll
  for (int e = 0; e < kTapsAndBias; ++e) out[e] = acc[e];
}

// dweight and dbias: one thread per output adds the tiles' sums in tile order.
__global__ void ss2d_prologue_param_reduce_kernel(const Ss2dPrologueParams p, int tiles) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= p.channels * kTapsAndBias) return;
  float sum = 0.f;
  for (int k = 0; k < tiles; ++k) sum += p.partials[int64_t(k) * p.channels * kTapsAndBias + i];
  const int c = i / kTapsAndBias, e = i % kTapsAndBias;
  if (e < kPrologueTaps)
    p.dweight[c * kPrologueTaps + e] = sum;
  else
    p.dbias[c] = sum;
}

int spatial_tiles(const Ss2dPrologueParams& p) {
  const int side = tile_side(p);
  return ((p.height + side - 1) / side) * ((p.width + side - 1) / side);
}

dim3 tile_grid(const Ss2dPrologueParams& p, int channels) {
  return dim3(unsigned(spatial_tiles(p)), unsigned((p.channels + channels - 1) / channels),
              unsigned(p.batch));
}

template <typename T, int kSide>
void launch(const Ss2dPrologueParams& p, bool backward, cudaStream_t stream) {
  if (!backward) {
    ss2d_prologue_fwd_kernel<T, kSide>
        <<<tile_grid(p, kFwdChannels), Geometry<kSide>::kFwdThreads, 0, stream>>>(p);
    VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the SS2D prologue");
    return;
  }
  const dim3 grid = tile_grid(p, kBwdChannels);
  ss2d_prologue_bwd_kernel<T, kSide><<<grid, Geometry<kSide>::kBwdThreads, 0, stream>>>(p);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the SS2D prologue's backward");
  const int outputs = p.channels * kTapsAndBias;
  ss2d_prologue_param_reduce_kernel<<<(outputs + 255) / 256, 256, 0, stream>>>(
      p, int(grid.x) * p.batch);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the SS2D prologue's weight sums");
}

template <typename T>
void launch_for_side(const Ss2dPrologueParams& p, bool backward, cudaStream_t stream) {
  if (tile_side(p) == 8)
    launch<T, 8>(p, backward, stream);
  else
    launch<T, 16>(p, backward, stream);
}

void launch_for(const Ss2dPrologueParams& p, bool backward, cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    launch_for_side<__nv_bfloat16>(p, backward, stream);
  else
    launch_for_side<float>(p, backward, stream);
}

}  // namespace

int64_t ss2d_prologue_partial_floats(const Ss2dPrologueParams& p) {
  return int64_t(p.batch) * spatial_tiles(p) * p.channels * kTapsAndBias;
}

void ss2d_prologue_fwd(const Ss2dPrologueParams& p, cudaStream_t stream) {
  launch_for(p, false, stream);
}

void ss2d_prologue_bwd(const Ss2dPrologueParams& p, cudaStream_t stream) {
  launch_for(p, true, stream);
}

}  // namespace vmunet
