// Element types the CUDA kernels read and write (float32 or bfloat16; every sum is float32), shared
// by the kernels and their LibTorch-free parameter structs. The device conversions are only seen
// by nvcc.
#pragma once

namespace vmunet {

enum class CudaDtype : int { kFloat32, kBFloat16 };

}  // namespace vmunet

#ifdef __CUDACC__
#include <cuda_bf16.h>

namespace vmunet {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}

}  // namespace vmunet
#endif
