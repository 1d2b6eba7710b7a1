// The CUDA kernel behind ss2d_direction_params (ss2d_direction_params.h), free of LibTorch; built
// only where LibTorch has CUDA (VMUNET_CUDA). Defined in ss2d_direction_params.cu.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace vmunet {

constexpr int kDirectionTensors = 4;  // A, dt_w, D, delta_bias

// dst[t][d·n_t + i] = f(src[t][perm(d)·n_t + i]) for the 4 directions d, perm exchanging k's two
// factors (0, 2, 1, 3). f is the identity except for tensor 0: −exp(v) when negate_exp (the
// forward pass: A from A_log), v·scale[perm(d)·n_0 + i] when scale is set (the backward pass:
// dA_log = dA·A, with A and dA in group order). float32, contiguous.
struct DirectionParamsCuda {
  const float* src[kDirectionTensors] = {};
  float* dst[kDirectionTensors] = {};
  int64_t per_direction[kDirectionTensors] = {};  // n_t
  bool negate_exp = false;
  const float* scale = nullptr;
};

void ss2d_direction_params_cuda(const DirectionParamsCuda& p, cudaStream_t stream);

}  // namespace vmunet
