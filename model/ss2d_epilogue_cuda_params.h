// The CUDA SS2D epilogue's parameters and launchers, free of LibTorch so that the .cu file and the
// torch glue (ss2d_epilogue_cuda.cpp) share them. The maths is in ss2d_epilogue.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda_element.h"

namespace vmunet {

// One problem: L = height·width positions of `batch` images with `channels` channels each. Row r =
// b·L + h·width + w of the (batch·L, channels) tensors is position (h, w) of image b.
struct Ss2dEpilogueParams {
  int batch = 0, channels = 0, height = 0, width = 0;
  CudaDtype y_dtype = CudaDtype::kFloat32;  // of ys, out, dout and dys
  CudaDtype z_dtype = CudaDtype::kFloat32;  // of z and dz
  float eps = 1e-5f;
  int64_t z_batch_stride = 0, z_position_stride = 0;  // z's channels are contiguous

  const void* ys = nullptr;       // (batch, 4, channels, L): directions in scan-group order
  const void* z = nullptr;        // (batch, L, channels), strided as above
  const float* weight = nullptr;  // (channels)
  const float* bias = nullptr;    // (channels)
  void* out = nullptr;            // (batch·L, channels)
  float* merged = nullptr;        // (batch·L, channels): the four directions summed, kept
  float* mean = nullptr;          // (batch·L)
  float* rstd = nullptr;          // (batch·L)

  const void* dout = nullptr;  // (batch·L, channels)
  void* dys = nullptr;         // (batch, 4, channels, L)
  void* dz = nullptr;          // (batch·L, channels), contiguous
  float* dmerged = nullptr;    // (batch·L, channels): scratch between the two backward kernels
  float* dweight = nullptr;    // (channels)
  float* dbias = nullptr;      // (channels)
  float* partials = nullptr;   // ss2d_epilogue_partial_floats(*this): per-block dweight, dbias
};

// Floats of `partials` the backward pass needs.
int64_t ss2d_epilogue_partial_floats(const Ss2dEpilogueParams& p);

// Launchers, asynchronous on `stream`. The forward writes out, merged, mean and rstd; the backward
// writes dys, dz, dweight and dbias, deterministically (fixed-order sums, no atomics).
void ss2d_epilogue_fwd(const Ss2dEpilogueParams& p, cudaStream_t stream);
void ss2d_epilogue_bwd(const Ss2dEpilogueParams& p, cudaStream_t stream);

}  // namespace vmunet
