// The sum of du over the scan groups that share a slice of u (selective_scan_cuda_params.h). SS2D's
// two directions per plane make it two rows of (channels × length) added into one, after every
// scan backward: LibTorch adds two such strided slices one element per thread (2.3 TB/s in
// bfloat16); this moves 16 bytes per thread where the rows allow it.
#include <algorithm>

#include "model/cuda_check.h"
#include "model/cuda_vec16.h"
#include "model/selective_scan_cuda_params.h"

namespace vmunet {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 8192;  // the grid strides beyond

// Each thread adds runs of kRun elements (16 bytes, or 1 where the rows are not a whole number
// of 16-byte runs).
template <typename T, int kRun>
__global__ void __launch_bounds__(kThreads)
    sum_shared_kernel(const T* du, T* out, int64_t outer, int share, int64_t inner) {
  const int64_t runs = inner / kRun, total = outer * runs;
  for (int64_t t = blockIdx.x * int64_t(kThreads) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * kThreads) {
    const int64_t o = t / runs, i = (t - o * runs) * kRun;
    const T* src = du + o * share * inner + i;
    float sum[kRun], v[kRun];
    load_run(src, sum);
    for (int j = 1; j < share; ++j) {
      load_run(src + j * inner, v);
#pragma unroll
      for (int e = 0; e < kRun; ++e) sum[e] += v[e];
    }
    store_run(out + o * inner + i, sum);
  }
}

template <typename T>
void launch(const void* du, void* out, int64_t outer, int share, int64_t inner,
            cudaStream_t stream) {
  const auto* src = static_cast<const T*>(du);
  auto* dst = static_cast<T*>(out);
  const bool runs = inner % kVec16<T> == 0 && reinterpret_cast<uintptr_t>(src) % 16 == 0 &&
                    reinterpret_cast<uintptr_t>(dst) % 16 == 0;
  const int64_t threads = outer * (runs ? inner / kVec16<T> : inner);
  const auto blocks =
      unsigned(std::clamp<int64_t>((threads + kThreads - 1) / kThreads, 1, kMaxBlocks));
  if (runs)
    sum_shared_kernel<T, kVec16<T>><<<blocks, kThreads, 0, stream>>>(src, dst, outer, share, inner);
  else
    sum_shared_kernel<T, 1><<<blocks, kThreads, 0, stream>>>(src, dst, outer, share, inner);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching the sum of shared du");
}

}  // namespace

void selective_scan_sum_shared(CudaDtype dtype, const void* du, void* out, int64_t outer, int share,
                               int64_t inner, cudaStream_t stream) {
  if (outer * inner == 0) return;
  if (dtype == CudaDtype::kBFloat16)
    launch<__nv_bfloat16>(du, out, outer, share, inner, stream);
  else
    launch<float>(du, out, outer, share, inner, stream);
}

}  // namespace vmunet
