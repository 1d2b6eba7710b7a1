// Times the selective scan alone (`vmunet bench --scan`): forward and backward separately, median
// over repeats, and effective bandwidth = bytes every input read once and every output written
// once / time. On a GPU (CUDA events) it also times the training pair, the forward keeping the
// tile states and the backward taking them; on the CPU (wall clock) the forward and the backward,
// each across LibTorch's intra-op threads. The default shape is stage 1 of a 256×256 VM-UNet
// input at batch 32: 4 directions × d_inner 192 = 768 channels, 64·64 = 4096 positions, 16 states.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace vmunet {

struct ScanBenchOptions {
  int64_t batch = 32, channels = 768, groups = 4, length = 4096, dstate = 16;
  torch::ScalarType dtype = torch::kFloat;  // of u, delta, B, C (float32, or bfloat16 on a GPU)
  torch::Device device = torch::kCUDA;
  int warmup = 5, repeats = 50;
  int chunks = 0;  // GPU: blocks along the sequence; 0 lets the kernels choose
};

struct ScanBenchResult {
  std::string pass;  // which pass, in words
  double median_ms = 0, min_ms = 0;
  double gigabytes = 0;  // effective bytes moved, 1e9
  double gbps = 0;       // gigabytes / median seconds
};

// Throws vmunet::Error for a CUDA device in a build without CUDA kernels.
std::vector<ScanBenchResult> bench_selective_scan(const ScanBenchOptions& options);

}  // namespace vmunet
