#include "model/selective_scan_bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

#include "common/error.h"
#include "model/selective_scan.h"
#ifdef VMUNET_CUDA
#include <ATen/cuda/CUDAContext.h>

#include "model/cuda_check.h"
#include "model/selective_scan_cuda.h"
#include "model/selective_scan_cuda_params.h"
#endif

namespace vmunet {
namespace {

using Timer = std::function<std::pair<double, double>(const std::function<void()>&)>;

std::pair<double, double> median_and_min(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms.front()};
}

// Median and minimum wall time of `run` over `repeats` calls after `warmup` calls.
std::pair<double, double> host_time_ms(const std::function<void()>& run, int warmup, int repeats) {
  for (int i = 0; i < warmup; ++i) run();
  std::vector<double> ms;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return median_and_min(ms);
}

#ifdef VMUNET_CUDA
// The same in device time, between CUDA events around each call.
std::pair<double, double> device_time_ms(const std::function<void()>& run, int warmup,
                                         int repeats) {
  for (int i = 0; i < warmup; ++i) run();
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream().stream();
  std::vector<cudaEvent_t> start(repeats), stop(repeats);
  for (int i = 0; i < repeats; ++i) {
    VMUNET_CUDA_CHECK(cudaEventCreate(&start[i]), "creating a timing event");
    VMUNET_CUDA_CHECK(cudaEventCreate(&stop[i]), "creating a timing event");
  }
  for (int i = 0; i < repeats; ++i) {
    VMUNET_CUDA_CHECK(cudaEventRecord(start[i], stream), "recording a timing event");
    run();
    VMUNET_CUDA_CHECK(cudaEventRecord(stop[i], stream), "recording a timing event");
  }
  VMUNET_CUDA_CHECK(cudaStreamSynchronize(stream), "waiting for the timed scans");
  std::vector<double> ms(repeats);
  for (int i = 0; i < repeats; ++i) {
    float t = 0;
    VMUNET_CUDA_CHECK(cudaEventElapsedTime(&t, start[i], stop[i]), "reading a timing event");
    ms[i] = t;
    VMUNET_CUDA_CHECK(cudaEventDestroy(start[i]), "destroying a timing event");
    VMUNET_CUDA_CHECK(cudaEventDestroy(stop[i]), "destroying a timing event");
  }
  return median_and_min(ms);
}
#endif

}  // namespace

std::vector<ScanBenchResult> bench_selective_scan(const ScanBenchOptions& o) {
  VMUNET_CHECK(o.repeats > 0 && o.warmup >= 0, "bench --scan: repeats must be positive");
  VMUNET_CHECK(o.groups > 0 && o.channels % o.groups == 0,
               "bench --scan: channels must be a multiple of groups");
  const bool gpu = o.device.is_cuda();
#ifdef VMUNET_CUDA
  VMUNET_CHECK(!gpu || torch::cuda::is_available(), "bench --scan: no CUDA device is visible");
#else
  VMUNET_CHECK(!gpu,
               "bench --scan: this vmunet was built without CUDA kernels (CPU LibTorch); "
               "use --device cpu");
#endif
  VMUNET_CHECK(gpu || o.dtype == torch::kFloat, "bench --scan: the CPU kernels time float32 only");
  torch::manual_seed(0);
  const auto f32 = torch::TensorOptions().device(o.device).dtype(torch::kFloat);
  const auto io = f32.dtype(o.dtype);
  const int64_t Bn = o.batch, Ch = o.channels, G = o.groups, L = o.length, N = o.dstate;
  // Random inputs in the ranges the network produces (never zeros: they would hide work).
  const auto u = torch::randn({Bn, Ch, L}, io);
  const auto delta = (torch::randn({Bn, Ch, L}, f32) * 0.5 - 1.0).to(o.dtype);
  const auto A = -torch::exp(torch::randn({Ch, N}, f32) * 0.5);
  const auto B = torch::randn({Bn, G, N, L}, io), C = torch::randn({Bn, G, N, L}, io);
  const auto D = torch::randn({Ch}, f32), bias = torch::randn({Ch}, f32) * 0.3;
  const auto dy = torch::randn({Bn, Ch, L}, io);

  const double e = double(c10::elementSize(o.dtype));
  const double seq = double(Bn * Ch * L) * e, bc = double(Bn * G * N * L) * e;
  const double params = double(Ch * (N + 2)) * 4;
  const double fwd_bytes = 3 * seq + 2 * bc + params;      // u, delta, B, C → y
  const double bwd_bytes = 5 * seq + 4 * bc + 2 * params;  // + dy → du, ddelta, dB, dC, dA...

  auto result = [&](const char* pass, double bytes, const Timer& time, auto&& run) {
    const auto [median, min] = time(run);
    return ScanBenchResult{pass, median, min, bytes / 1e9, bytes / 1e9 / (median / 1e3)};
  };
  if (!gpu) {
    const Timer host = [&](const std::function<void()>& run) {
      return host_time_ms(run, o.warmup, o.repeats);
    };
    return {
        result("fwd", fwd_bytes, host, [&] { selective_scan_forward(u, delta, A, B, C, D, bias); }),
        result("bwd", bwd_bytes, host,
               [&] { selective_scan_backward(u, delta, A, B, C, D, bias, dy); })};
  }
#ifdef VMUNET_CUDA
  const Timer device = [&](const std::function<void()>& run) {
    return device_time_ms(run, o.warmup, o.repeats);
  };
  const double states = double(selective_scan_tile_states_floats(Bn, Ch, L)) * 4;
  // Δ projected inside the kernels, as SS2D runs them: dt_rank = ceil(d_model / 16) for groups of
  // 2·d_model channels.
  const int64_t rank = (Ch / G / 2 + 15) / 16;
  const auto dt_in = (torch::randn({Bn, G, rank, L}, f32) * 0.5).to(o.dtype);
  const auto dt_w = torch::randn({G, Ch / G, rank}, f32) / std::sqrt(double(rank)) - 0.3;
  const double dt_bytes = double(Bn * G * rank * L) * e + double(Ch * rank) * 4;
  torch::Tensor kept, kept_dt;
  return {
      result("fwd", fwd_bytes, device,
             [&] { selective_scan_fwd_cuda(u, delta, A, B, C, D, bias, {}, o.chunks); }),
      result("fwd, keeping tile states (training)", fwd_bytes + states, device,
             [&] { selective_scan_fwd_cuda(u, delta, A, B, C, D, bias, {}, o.chunks, &kept); }),
      result("bwd, from kept states (training)", bwd_bytes + states, device,
             [&] { selective_scan_bwd_cuda(u, delta, A, B, C, D, bias, dy, {}, o.chunks, kept); }),
      result("bwd, recomputing states", bwd_bytes, device,
             [&] { selective_scan_bwd_cuda(u, delta, A, B, C, D, bias, dy, {}, o.chunks); }),
      result("fwd, projected delta, keeping states", fwd_bytes - seq + dt_bytes + states, device,
             [&] { selective_scan_dt_fwd_cuda(u, dt_in, dt_w, A, B, C, D, bias, {}, &kept_dt); }),
      result(
          "bwd, projected delta, from kept states", bwd_bytes - seq + dt_bytes + states, device,
          [&] { selective_scan_dt_bwd_cuda(u, dt_in, dt_w, A, B, C, D, bias, dy, {}, kept_dt); })};
#else
  return {};
#endif
}

}  // namespace vmunet
