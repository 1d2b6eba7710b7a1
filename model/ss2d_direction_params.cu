// One launch for all four of SS2D's per-direction parameter tensors (ss2d_direction_params.h).
#include "model/cuda_check.h"
#include "model/ss2d_direction_params_cuda.h"

namespace vmunet {
namespace {

constexpr int kDirections = 4;

__global__ void direction_params_kernel(const DirectionParamsCuda p, int64_t total) {
  const int64_t at = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (at >= total) return;
  int t = 0;
  int64_t j = at;
  while (j >= kDirections * p.per_direction[t]) j -= kDirections * p.per_direction[t++];
  const int64_t n = p.per_direction[t];
  const int d = int(j / n);
  const int64_t i = j % n;
  const int64_t from = ((d % 2) * 2 + d / 2) * n + i;
  float v = p.src[t][from];
  if (t == 0) v = p.negate_exp ? -expf(v) : p.scale ? v * p.scale[from] : v;
  p.dst[t][int64_t(d) * n + i] = v;
}

}  // namespace

void ss2d_direction_params_cuda(const DirectionParamsCuda& p, cudaStream_t stream) {
  int64_t total = 0;
  for (const int64_t n : p.per_direction) total += kDirections * n;
  if (total == 0) return;
  constexpr int kThreads = 256;
  direction_params_kernel<<<unsigned((total + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      p, total);
  VMUNET_CUDA_CHECK(cudaGetLastError(), "launching direction_params_kernel");
}

}  // namespace vmunet
