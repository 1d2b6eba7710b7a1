// Where step l of a channel's sequence lies in memory. kFlat: at l. kSS2D: the four scan
// directions of SS2D (DESIGN §2) over a row-major height × width grid, the direction being the
// channel's group k (4 groups): 0 row-major, 1 column-major, 2 and 3 the same reversed. Free of
// LibTorch and usable on both host and device, so the CPU and CUDA kernels share one definition.
#pragma once

#include <cstdint>

#ifdef __CUDACC__
#define VMUNET_SCAN_HD __host__ __device__ __forceinline__
#else
#define VMUNET_SCAN_HD inline
#endif

namespace vmunet {

enum class ScanOrder : int { kFlat, kSS2D };

struct ScanLayout {
  ScanOrder order = ScanOrder::kFlat;
  int64_t height = 0, width = 0;  // kSS2D only; length = height · width

  constexpr bool ss2d() const { return order == ScanOrder::kSS2D; }
};

// Memory position of step l (0 <= l < length) in direction k (the channel's group), for I int or
// int64_t. Column-major step m lies at row m % height, column m / height.
template <typename I>
VMUNET_SCAN_HD I scan_position(ScanOrder order, I height, I width, I length, int k, I l) {
  if (order == ScanOrder::kFlat) return l;
  const I m = k >= 2 ? length - 1 - l : l;
  return k % 2 == 0 ? m : (m % height) * width + m / height;
}

}  // namespace vmunet
