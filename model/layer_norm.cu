// CUDA LayerNorm over the last dimension, optionally gated by silu(z) (layer_norm.h): one warp per
// row, which suits the network's 96 to 1536 channels far better than one block per row; rows of
// at most 32 channels (the final projection's 24, over every pixel of the output) share a warp,
// 8 lanes to a row, instead of idling most of it. Rows of up to 1536 channels stay in registers
// between the passes over them; up to 768, the backward's weight and bias sums stay there across
// the rows too, else they are kept in shared memory. Wider rows are read again from the cache.
// PatchExpand's tokens can be written onto their grid (LayerNormParams::grid_scale). The backward
// sums the weight and bias gradients per warp, then per block, then across blocks, always in the
// same order: deterministic.
#include <algorithm>

#include "model/cuda_check.h"
#include "model/layer_norm_cuda_params.h"

namespace vmunet {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kRowWarps = 8;  // warps per block
// Narrow rows: kNarrowLanes lanes per row, kNarrowCached channels per lane.
constexpr int kNarrowLanes = 8, kNarrowCached = 4;
// The backward's block count depends on the shape alone, so the weight and bias sums come out
// the same on every card.
constexpr int kMaxBwdBlocks = 1024;

// Lanes per row for a row width, and rows per block for that many lanes.
int lanes_for(int channels) {
  return channels <= kNarrowLanes * kNarrowCached ? kNarrowLanes : kWarp;
}
__host__ __device__ constexpr int block_rows(int lanes) { return kRowWarps * kWarp / lanes; }

int bwd_blocks(const LayerNormParams& p) {
  const int rows = block_rows(lanes_for(p.channels));
  return int(std::min<int64_t>(kMaxBwdBlocks, (p.rows + rows - 1) / rows));
}

// The sum over the kLanes lanes of a row, in every one of them.
template <int kLanes>
__device__ __forceinline__ float row_sum(float x) {
#pragma unroll
  for (int offset = kLanes / 2; offset > 0; offset >>= 1)
    x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

// The row of out and dout for x's row r: token (bh, w, s1, s2) of the (.., W, s, s) layout goes to
// (bh, s1, w, s2) on the (.., s, W, s) grid. Rows fit 32 bits there (layer_norm_cuda.cpp).
__device__ __forceinline__ int64_t out_row(const LayerNormParams& p, int64_t r) {
  if (p.grid_scale == 0) return r;
  const unsigned s = p.grid_scale, W = p.grid_width, t = unsigned(r);
  const unsigned s2 = t % s, s1 = t / s % s, w = t / (s * s) % W, bh = t / (s * s * W);
  return ((int64_t(bh) * s + s1) * W + w) * s + s2;
}

// kLanes: the lanes of a row (32, or kNarrowLanes). kCached: the values a lane keeps per row
// (channels lane, lane + kLanes, ...; a row of at most kLanes·kCached channels), or 0 for rows
// read again on each pass (whole warps only). The lane's channel loop:
//   for (i < steps<kCached>()) { c = lane + i * kLanes; if (c >= C) break; ... }
template <int kCached>
__host__ __device__ constexpr int steps() {
  return kCached > 0 ? kCached : 1 << 30;
}
// The kCached a row width gets: 4 up to 128 channels, 8 up to 256, 16 up to 512, 24 up to 768
// (stage 3's gated rows and stage 4's inputs), 48 up to 1536 (stage 4's gated rows, the last
// patch merging's), else 0.
int cached_for(int channels) {
  for (int cached : {4, 8, 16, 24, 48})
    if (channels <= cached * kWarp) return cached;
  return 0;
}
// The backward also keeps the weight and bias sums of a cached row's channels in registers across
// its rows, up to this many a lane; beyond, they would spill, and go to shared memory instead.
constexpr int kMaxKeptSums = 24;

template <typename Z, typename X, int kCached, int kLanes>
__global__ void __launch_bounds__(kRowWarps* kWarp) layer_norm_fwd_kernel(const LayerNormParams p) {
  const int lane = threadIdx.x % kLanes;
  const int64_t row = int64_t(blockIdx.x) * block_rows(kLanes) + threadIdx.x / kLanes;
  if (kLanes == kWarp && row >= p.rows) return;
  // Past the last row, narrow rows' lanes redo the last one for their warp's shuffles, unstored.
  const bool store = row < p.rows;
  const int64_t r = store ? row : p.rows - 1;
  const int C = p.channels;
  const X* x = static_cast<const X*>(p.x) + r * C;
  float xs[kCached > 0 ? kCached : 1] = {};
  auto x_at = [&](int i, int c) {
    if constexpr (kCached > 0)
      return xs[i];
    else
      return to_float(x[c]);
  };
  // Two passes (mean, then the centred variance): no cancellation.
  float sum = 0.f;
#pragma unroll(kCached > 0 ? kCached : 4)
  for (int i = 0; i < steps<kCached>(); ++i) {
    const int c = lane + i * kLanes;
    if (c >= C) break;
    const float v = to_float(x[c]);
    if constexpr (kCached > 0) xs[i] = v;
    sum += v;
  }
  const float mean = row_sum<kLanes>(sum) / C;
  float sq = 0.f;
#pragma unroll(kCached > 0 ? kCached : 4)
  for (int i = 0; i < steps<kCached>(); ++i) {
    const int c = lane + i * kLanes;
    if (c >= C) break;
    const float d = x_at(i, c) - mean;
    sq += d * d;
  }
  const float rstd = rsqrtf(row_sum<kLanes>(sq) / C + p.eps);
  const Z* z = p.z ? static_cast<const Z*>(p.z) + r * p.z_row_stride : nullptr;
  Z* out = static_cast<Z*>(p.out) + out_row(p, r) * C;
#pragma unroll(kCached > 0 ? kCached : 4)
  for (int i = 0; i < steps<kCached>(); ++i) {
    const int c = lane + i * kLanes;
    if (c >= C || !store) break;
    const float n = (x_at(i, c) - mean) * rstd * p.weight[c] + p.bias[c];
    float gate = 1.f;
    if (z) {
      const float zc = to_float(z[c]);
      gate = zc * sigmoid(zc);
    }
    out[c] = from_float<Z>(n * gate);
  }
  if (lane == 0 && store) {
    p.mean[r] = mean;
    p.rstd[r] = rstd;
  }
}

// Per row, with n = x̂·weight + bias and dn = dout·gate: dz = dout·n·gate'(z), and
// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dn·weight. Each row's lanes add its
// dweight = Σ dn·x̂ and dbias = Σ dn per channel, in row order (in registers up to kMaxKeptSums
// cached values a lane, else in the warp's shared-memory row); narrow rows' lane groups then add
// theirs across the warp in a fixed butterfly, and the block writes the sum of its warps' rows to
// `partials`.
template <typename Z, typename X, int kCached, int kLanes>
__global__ void __launch_bounds__(kRowWarps* kWarp) layer_norm_bwd_kernel(const LayerNormParams p) {
  static_assert(kCached > 0 || kLanes == kWarp, "rows read again need whole warps");
  extern __shared__ float warp_partials[];  // (kRowWarps, 2, channels)
  constexpr int kKept = kCached > 0 ? kCached : 1;
  constexpr bool kSumsKept = kCached > 0 && kCached <= kMaxKeptSums;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kLanes, C = p.channels;
  float* dweight = warp_partials + int64_t(warp) * 2 * C;
  float* dbias = dweight + C;
  if constexpr (!kSumsKept)
    for (int c = lane; c < C; c += kWarp) dweight[c] = dbias[c] = 0.f;
  float acc_w[kSumsKept ? kCached : 1] = {}, acc_b[kSumsKept ? kCached : 1] = {};
  for (int64_t first = int64_t(blockIdx.x) * block_rows(kLanes); first < p.rows;
       first += int64_t(gridDim.x) * block_rows(kLanes)) {
    const int64_t row = first + threadIdx.x / kLanes;
    if (kLanes == kWarp && row >= p.rows) break;
    // Past the last row, narrow rows' lanes redo the last one with a zero gradient, unstored.
    const bool valid = row < p.rows;
    const int64_t r = valid ? row : p.rows - 1;
    const float mean = p.mean[r], rstd = p.rstd[r];
    const X* x = static_cast<const X*>(p.x) + r * C;
    const Z* dout = static_cast<const Z*>(p.dout) + out_row(p, r) * C;
    const Z* z = p.z ? static_cast<const Z*>(p.z) + r * p.z_row_stride : nullptr;
    Z* dz = p.z ? static_cast<Z*>(p.dz) + r * p.dz_row_stride : nullptr;
    float xhats[kKept], dxhats[kKept];
    float mean_dxhat = 0.f, mean_dxhat_xhat = 0.f;
#pragma unroll(kCached > 0 ? kCached : 4)
    for (int i = 0; i < steps<kCached>(); ++i) {
      const int c = lane + i * kLanes;
      if (c >= C) break;
      const float xhat = (to_float(x[c]) - mean) * rstd, g = valid ? to_float(dout[c]) : 0.f;
      float gate = 1.f;
      if (z) {
        const float zc = to_float(z[c]), sg = sigmoid(zc);
        const float n = xhat * p.weight[c] + p.bias[c];
        gate = zc * sg;
        if (valid) dz[c] = from_float<Z>(g * n * sg * (1.f + zc * (1.f - sg)));
      }
      const float dn = g * gate;
      if constexpr (kSumsKept) {
        acc_w[i] += dn * xhat;
        acc_b[i] += dn;
      } else {
        dweight[c] += dn * xhat;
        dbias[c] += dn;
      }
      const float dxhat = dn * p.weight[c];
      if constexpr (kCached > 0) {
        xhats[i] = xhat;
        dxhats[i] = dxhat;
      }
      mean_dxhat += dxhat;
      mean_dxhat_xhat += dxhat * xhat;
    }
    mean_dxhat = row_sum<kLanes>(mean_dxhat) / C;
    mean_dxhat_xhat = row_sum<kLanes>(mean_dxhat_xhat) / C;
    X* dx = static_cast<X*>(p.dx) + r * C;
    const X* dx_add = p.dx_add ? static_cast<const X*>(p.dx_add) + r * C : nullptr;
#pragma unroll(kCached > 0 ? kCached : 4)
    for (int i = 0; i < steps<kCached>(); ++i) {
      const int c = lane + i * kLanes;
      if (c >= C || !valid) break;
      float xhat, dxhat;
      if constexpr (kCached > 0) {
        xhat = xhats[i];
        dxhat = dxhats[i];
      } else {
        xhat = (to_float(x[c]) - mean) * rstd;
        float gate = 1.f;
        if (z) {
          const float zc = to_float(z[c]);
          gate = zc * sigmoid(zc);
        }
        dxhat = to_float(dout[c]) * gate * p.weight[c];
      }
      float g = rstd * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
      if (dx_add) g += to_float(dx_add[c]);
      dx[c] = from_float<X>(g);
    }
  }
  if constexpr (kSumsKept) {
#pragma unroll
    for (int i = 0; i < kCached; ++i) {
      float w = acc_w[i], b = acc_b[i];
#pragma unroll
      for (int offset = kLanes; offset < kWarp; offset *= 2) {
        w += __shfl_xor_sync(kFullMask, w, offset);
        b += __shfl_xor_sync(kFullMask, b, offset);
      }
      const int c = lane + i * kLanes;
      if (threadIdx.x % kWarp < kLanes && c < C) {
        dweight[c] = w;
        dbias[c] = b;
      }
    }
  }
  __syncthreads();
  for (int c = threadIdx.x; c < 2 * C; c += blockDim.x) {
    float sum = 0.f;
    for (int w = 0; w < kRowWarps; ++w) sum += warp_partials[int64_t(w) * 2 * C + c];
    p.partials[int64_t(blockIdx.x) * 2 * C + c] = sum;
  }
}

// dweight and dbias: one warp per output adds the blocks' partials, lane l those of blocks l,
// l + 32, ..., then the lanes in a fixed butterfly.
__global__ void layer_norm_param_sum_kernel(const LayerNormParams p, int blocks) {
  const int i = blockIdx.x * kRowWarps + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int C = p.channels;
  if (i >= 2 * C) return;
  float sum = 0.f;
  for (int b = lane; b < blocks; b += kWarp) sum += p.partials[int64_t(b) * 2 * C + i];
  sum = row_sum<kWarp>(sum);
  if (lane != 0) return;
  if (i < C)
    p.dweight[i] = sum;
  else
    p.dbias[i - C] = sum;
}

template <typename Z, typename X, int kCached, int kLanes = kWarp>
void launch(const LayerNormParams& p, bool backward, cudaStream_t stream) {
  if (!backward) {
    const auto blocks = unsigned((p.rows + block_rows(kLanes) - 1) / block_rows(kLanes));
    layer_norm_fwd_kernel<Z, X, kCached, kLanes><<<blocks, kRowWarps * kWarp, 0, stream>>>(p);
    VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the LayerNorm forward");
    return;
  }
  const size_t smem = size_t(kRowWarps) * 2 * p.channels * sizeof(float);
  VMUNET_CUDA_CHECK(cudaFuncSetAttribute(layer_norm_bwd_kernel<Z, X, kCached, kLanes>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
                    "raising the shared-memory limit of the LayerNorm backward");
  const int blocks = bwd_blocks(p);
  layer_norm_bwd_kernel<Z, X, kCached, kLanes><<<blocks, kRowWarps * kWarp, smem, stream>>>(p);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the LayerNorm backward");
  layer_norm_param_sum_kernel<<<(2 * p.channels + kRowWarps - 1) / kRowWarps, kRowWarps * kWarp, 0,
                                stream>>>(p, blocks);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the LayerNorm parameter sums");
}

// The kernels for p's row width (lanes_for, cached_for).
template <typename Z, typename X>
void launch_for_width(const LayerNormParams& p, bool backward, cudaStream_t stream) {
  if (lanes_for(p.channels) == kNarrowLanes)
    return launch<Z, X, kNarrowCached, kNarrowLanes>(p, backward, stream);
  switch (cached_for(p.channels)) {
    case 4:
      return launch<Z, X, 4>(p, backward, stream);
    case 8:
      return launch<Z, X, 8>(p, backward, stream);
    case 16:
      return launch<Z, X, 16>(p, backward, stream);
    case 24:
      return launch<Z, X, 24>(p, backward, stream);
    case 48:
      return launch<Z, X, 48>(p, backward, stream);
    default:
      return launch<Z, X, 0>(p, backward, stream);
  }
}

template <typename Z>
void launch_for_x(const LayerNormParams& p, bool backward, cudaStream_t stream) {
  if (p.x_dtype == CudaDtype::kBFloat16)
    launch_for_width<Z, __nv_bfloat16>(p, backward, stream);
  else
    launch_for_width<Z, float>(p, backward, stream);
}

void launch_for(const LayerNormParams& p, bool backward, cudaStream_t stream) {
  if (p.dtype == CudaDtype::kBFloat16)
    launch_for_x<__nv_bfloat16>(p, backward, stream);
  else
    launch_for_x<float>(p, backward, stream);
}

}  // namespace

int64_t layer_norm_partial_floats(const LayerNormParams& p) {
  return int64_t(bwd_blocks(p)) * 2 * p.channels;
}

void layer_norm_fwd(const LayerNormParams& p, cudaStream_t stream) { launch_for(p, false, stream); }

void layer_norm_bwd(const LayerNormParams& p, cudaStream_t stream) { launch_for(p, true, stream); }

}  // namespace vmunet
