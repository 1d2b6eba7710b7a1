// Δ as the scan's glue takes it (CPU, selective_scan.cpp, and CUDA, selective_scan_cuda.cpp):
// given as a tensor, or projected inside the kernels from dt_in and dt_w (selective_scan_dt.h).
#pragma once

#include <torch/types.h>

#include <vector>

namespace vmunet {

// Exactly one of `delta` (batch, channels, length) and the pair dt_in (batch, groups, rank,
// length), dt_w (groups, channels / groups, rank) is defined.
struct ScanDelta {
  torch::Tensor delta, dt_in, dt_w;

  // Δ's sizes: (batch, channels, length).
  std::vector<int64_t> sizes() const {
    if (delta.defined()) return delta.sizes().vec();
    return {dt_in.size(0), dt_w.size(0) * dt_w.size(1), dt_in.size(3)};
  }
};

}  // namespace vmunet
