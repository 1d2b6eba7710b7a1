// Sixteen bytes of a kernel's element type (4 floats or 8 bfloat16) moved in one access and
// widened to (or rounded from) floats, for kernels whose 2- and 4-byte accesses would otherwise
// move too few bytes per instruction. The address must be 16-byte aligned. load_run/store_run
// take a run of either 16 bytes or one element, for kernels with a fallback for unaligned data.
#pragma once

#include <cuda_bf16.h>

#include "model/cuda_element.h"

namespace vmunet {

template <typename T>
constexpr int kVec16 = 16 / sizeof(T);  // elements per 16 bytes

__device__ __forceinline__ void load_vec16(const float* src, float (&v)[4]) {
  const float4 q = *reinterpret_cast<const float4*>(src);
  v[0] = q.x;
  v[1] = q.y;
  v[2] = q.z;
  v[3] = q.w;
}
__device__ __forceinline__ void load_vec16(const __nv_bfloat16* src, float (&v)[8]) {
  const uint4 q = *reinterpret_cast<const uint4*>(src);
  const unsigned words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    v[2 * i] = __uint_as_float(words[i] << 16);  // a bfloat16 is a float's upper half
    v[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
  }
}

__device__ __forceinline__ void store_vec16(float* dst, const float (&v)[4]) {
  *reinterpret_cast<float4*>(dst) = make_float4(v[0], v[1], v[2], v[3]);
}
// Rounded as from_float<__nv_bfloat16> rounds each value.
__device__ __forceinline__ void store_vec16(__nv_bfloat16* dst, const float (&v)[8]) {
  __nv_bfloat162 pairs[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) pairs[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(pairs);
}

// A run of kRun elements as floats: 16 bytes at once (kRun = kVec16<T>), or one element.
template <int kRun, typename T>
__device__ __forceinline__ void load_run(const T* src, float (&v)[kRun]) {
  if constexpr (kRun == 1)
    v[0] = to_float(*src);
  else
    load_vec16(src, v);
}
template <int kRun, typename T>
__device__ __forceinline__ void store_run(T* dst, const float (&v)[kRun]) {
  if constexpr (kRun == 1)
    *dst = from_float<T>(v[0]);
  else
    store_vec16(dst, v);
}

}  // namespace vmunet
