// The CUDA LayerNorm's parameters and launchers, free of LibTorch so that the .cu file and the
// torch glue (layer_norm_cuda.cpp) share them. The maths is in layer_norm.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda_element.h"

namespace vmunet {

// `rows` rows of `channels` values, normalised over the channels, optionally gated by silu(z).
struct LayerNormParams {
  int64_t rows = 0;
  int channels = 0;
  float eps = 1e-5f;
  // Of z, dz, out and dout where there is a gate; out and dout are float32 where there is none.
  CudaDtype dtype = CudaDtype::kFloat32;
  CudaDtype x_dtype = CudaDtype::kFloat32;      // of x and dx
  int64_t z_row_stride = 0, dz_row_stride = 0;  // z's and dz's channels are contiguous
  // grid_scale > 0: x's rows are tokens (.., W, s, s) with s = grid_scale and W = grid_width
  // (PatchExpand's), and out and dout hold each token's row at its place on the (.., s, W, s)
  // grid (layer_norm_row_on_grid). Without a gate.
  int grid_width = 0, grid_scale = 0;

  const void* x = nullptr;        // (rows, channels)
  const void* z = nullptr;        // (rows, channels), strided as above; null: no gate
  const float* weight = nullptr;  // (channels)
  const float* bias = nullptr;    // (channels)
  void* out = nullptr;            // (rows, channels), rows on the grid where there is one
  float* mean = nullptr;          // (rows)
  float* rstd = nullptr;          // (rows)

  const void* dout = nullptr;    // (rows, channels), rows as out's
  void* dx = nullptr;            // (rows, channels)
  const void* dx_add = nullptr;  // (rows, channels), x's dtype: added to dx where set
  void* dz = nullptr;            // (rows, channels), strided as above
  float* dweight = nullptr;      // (channels)
  float* dbias = nullptr;        // (channels)
  float* partials = nullptr;     // layer_norm_partial_floats(*this): per-block dweight, dbias
};

// Floats of `partials` the backward pass needs.
int64_t layer_norm_partial_floats(const LayerNormParams& p);

// Launchers, asynchronous on `stream`. The forward writes out, mean and rstd; the backward writes
// dx, dz (gated only), dweight and dbias, deterministically (fixed-order sums, no atomics).
void layer_norm_fwd(const LayerNormParams& p, cudaStream_t stream);
void layer_norm_bwd(const LayerNormParams& p, cudaStream_t stream);

}  // namespace vmunet
