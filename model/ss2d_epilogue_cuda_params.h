// The CUDA SS2D direction merge's parameters and launchers, free of LibTorch so that the .cu file
// and the torch glue (ss2d_epilogue_cuda.cpp) share them. The maths is in ss2d_epilogue.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda_element.h"

namespace vmunet {

// L = height·width positions of `batch` images with `channels` channels each. Row r = b·L + h·width
// + w of the (batch·L, channels) tensors is position (h, w) of image b.
struct Ss2dDirectionsParams {
  int batch = 0, channels = 0, height = 0, width = 0;
  CudaDtype dtype = CudaDtype::kFloat32;  // of ys and dys

  const void* ys = nullptr;        // (batch, 4, channels, L): directions in scan-group order
  float* merged = nullptr;         // (batch·L, channels): their sum
  const float* dmerged = nullptr;  // (batch·L, channels)
  void* dys = nullptr;             // (batch, 4, channels, L)
};

// Launchers, asynchronous on `stream`: merged from ys, and dys from dmerged.
void ss2d_merge_directions(const Ss2dDirectionsParams& p, cudaStream_t stream);
void ss2d_scatter_directions(const Ss2dDirectionsParams& p, cudaStream_t stream);

}  // namespace vmunet
