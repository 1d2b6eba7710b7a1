// The CUDA SS2D prologue's parameters and launchers, free of LibTorch so that the .cu file and the
// torch glue (ss2d_prologue_cuda.cpp) share them. The maths is in ss2d_prologue.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "model/cuda_element.h"

namespace vmunet {

constexpr int kPrologueKernel = 3;  // the convolution's side: SS2D's d_conv
constexpr int kPrologueTaps = kPrologueKernel * kPrologueKernel;

// `batch` images of height × width positions and `channels` channels; L = height·width.
struct Ss2dPrologueParams {
  int batch = 0, channels = 0, height = 0, width = 0;
  CudaDtype dtype = CudaDtype::kFloat32;  // of x, planes, dplanes and dx

  const void* x = nullptr;  // (batch, height, width, channels), channels contiguous
  int64_t x_batch_stride = 0, x_row_stride = 0, x_col_stride = 0;
  const float* weight = nullptr;  // (channels, 3, 3)
  const float* bias = nullptr;    // (channels)

  void* planes = nullptr;         // (batch, 2, channels, L): h·width + w, then w·height + h
  const void* dplanes = nullptr;  // (batch, 2, channels, L)
  void* dx = nullptr;             // (batch, height, width, channels), channels contiguous
  float* partials = nullptr;      // ss2d_prologue_partial_floats(*this) floats of scratch
  float* dweight = nullptr;       // (channels, 3, 3)
  float* dbias = nullptr;         // (channels)
  int64_t dx_batch_stride = 0, dx_row_stride = 0, dx_col_stride = 0;
};

// Scratch floats the backward needs: per-tile sums of dweight and dbias.
int64_t ss2d_prologue_partial_floats(const Ss2dPrologueParams& p);

// Launchers, asynchronous on `stream`: planes from x, and dx, dweight, dbias from dplanes.
void ss2d_prologue_fwd(const Ss2dPrologueParams& p, cudaStream_t stream);
void ss2d_prologue_bwd(const Ss2dPrologueParams& p, cudaStream_t stream);

}  // namespace vmunet
