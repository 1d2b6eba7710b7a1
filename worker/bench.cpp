#include "worker/bench.h"

#include <torch/torch.h>
#ifdef VMUNET_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <functional>

#include "common/error.h"
#include "model/vmunet.h"
#include "worker/cuda_graphs.h"
#include "worker/device.h"
#include "worker/gradient_reducer.h"
#include "worker/optimizer.h"
#include "worker/train_step.h"

namespace vmunet {
namespace {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

void reset_peak(const torch::Device& device) {
#ifdef VMUNET_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

double peak_gib(const torch::Device& device) {
#ifdef VMUNET_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    const auto agg = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    return stats.allocated_bytes[agg].peak / double(1ull << 30);
  }
#else
  (void)device;
#endif
  return 0.0;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Times `step` (which must leave its work queued on the device) `warmup` + `steps` times; the
// host clock is read after a device synchronisation, so each sample covers the step's whole work,
// and also when `step` returns: the host's share. The peak memory counts the warm-up, where a CUDA
// graph is captured.
BenchResult time_steps(const std::string& mode, const BenchOptions& o, const torch::Device& device,
                       const std::function<void()>& step) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point t0, Clock::time_point t1) {
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
  };
  synchronize(device);
  reset_peak(device);
  for (int i = 0; i < o.warmup; ++i) step();
  synchronize(device);
  std::vector<double> ms, queued;
  for (int i = 0; i < o.steps; ++i) {
    const auto t0 = Clock::now();
    step();
    const auto t1 = Clock::now();
    synchronize(device);
    ms.push_back(ms_since(t0, Clock::now()));
    queued.push_back(ms_since(t0, t1));
  }
  BenchResult r;
  r.mode = mode;
  r.device_name = device_name(device);
  r.ranks = o.comm && mode == "train" ? o.comm->size() : 1;
  r.median_ms = median(ms);
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  r.queued_ms = median(queued);
  r.images_per_s = double(o.batch) * r.ranks / (r.median_ms / 1000.0);
  r.peak_gib = peak_gib(device);
  return r;
}

struct Setup {
  torch::Device device;
  VMUNet model;
  torch::Tensor input, target;
};

Setup setup(const BenchOptions& o) {
  const auto device = choose_device(o.device, local_rank());
  set_precision(o.precision, device);
  torch::manual_seed(0);
  VMUNet model(o.model);
  model->to(device);
  model->set_recompute(o.recompute);
  auto opts = torch::TensorOptions().device(device);
  auto input = torch::rand({o.batch, o.model.in_channels, o.size, o.size}, opts) * 255.0;
  auto target = o.model.num_classes == 1
                    ? (torch::rand({o.batch, 1, o.size, o.size}, opts) > 0.7).to(torch::kFloat)
                    : torch::randint(o.model.num_classes, {o.batch, o.size, o.size},
                                     opts.dtype(torch::kLong));
  return {device, model, input, target};
}

}  // namespace

BenchResult bench_train(const BenchOptions& o) {
  auto local = make_local_communicator();
  Communicator& comm = o.comm ? *o.comm : *local;
  auto s = setup(o);
  s.model->train();
  broadcast_tensors(s.model->parameters(), comm);
  auto optimizer = make_adamw(s.model->parameters(), {});
  GradientReducer reducer(s.model->parameters(), comm);
  const TrainStepContext ctx{s.model,
                             *optimizer,
                             reducer,
                             comm,
                             o.model.num_classes == 1 ? Task::binary : Task::multiclass,
                             LossWeights{},
                             o.precision};
  auto nonfinite = torch::zeros({}, torch::TensorOptions().dtype(torch::kBool).device(s.device));
  std::string why = cuda_graph_unsupported(s.device, comm.size(), o.recompute);
  if (why.empty() && o.warmup < 2)
    why = "it needs --warmup 2 or more (an eager step, then the capture)";
  if (o.cuda_graph == CudaGraph::on && !why.empty()) throw Error("--cuda-graph on: " + why);
  if (o.cuda_graph != CudaGraph::off && why.empty()) {
    CapturedTrainStep graphed(ctx);
    auto r = time_steps("train", o, s.device, [&] { graphed.step(s.input, s.target, nonfinite); });
    r.graph = true;
    return r;
  }
  return time_steps("train", o, s.device,
                    [&] { train_step(ctx, s.input, s.target, 1.0 / comm.size(), nonfinite); });
}

BenchResult bench_inference(const BenchOptions& o) {
  auto s = setup(o);
  s.model->eval();
  torch::NoGradGuard no_grad;
  CapturedForward forward(s.model, o.cuda_graph != CudaGraph::off && o.warmup >= 2,
                          o.precision == Precision::bf16);
  if (o.cuda_graph == CudaGraph::on && !forward.graphed())
    throw Error("--cuda-graph on: inference needs a CUDA device and --warmup 2 or more");
  auto r = time_steps("inference", o, s.device, [&] { s.model->output(forward(s.input)); });
  r.graph = forward.graphed();
  return r;
}

}  // namespace vmunet
