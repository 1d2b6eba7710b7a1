#include "worker/train_step_graph.h"

#include <torch/torch.h>
#ifdef VMUNET_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <vector>

#include "common/error.h"
#include "worker/optimizer.h"

namespace vmunet {

std::string cuda_graph_unsupported(const torch::Device& device, int ranks, bool recompute) {
#ifndef VMUNET_CUDA
  (void)device, (void)ranks, (void)recompute;
  return "this build of vmunet has no CUDA";
#else
  if (!device.is_cuda()) return "it needs a CUDA device, and the run is on " + device.str();
  if (ranks > 1) return "it needs one rank, and the run has " + std::to_string(ranks);
  if (recompute) return "it cannot capture train.recompute blocks";
  return "";
#endif
}

#ifdef VMUNET_CUDA

struct CapturedTrainStep::State {
  State(const TrainStepContext& context, std::vector<torch::Tensor> parameters)
      : ctx(context),
        stream(c10::cuda::getStreamFromPool(false, parameters.at(0).device().index())),
        params(std::move(parameters)) {}

  const TrainStepContext& ctx;
  // Capture needs a stream other than the default one; the step is ordered after the caller's
  // work by `ready` and the caller's later work after the step by `done`.
  c10::cuda::CUDAStream stream;
  at::cuda::CUDAEvent ready, done;
  int64_t calls = 0;
  // The graph reads its batch from x, y and writes the loss and the non-finite flag of its step,
  // and every parameter's gradient, to memory of its own: these tensors stay for its replays.
  torch::Tensor x, y, loss, nonfinite;
  std::vector<torch::Tensor> params, grads;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
};

CapturedTrainStep::CapturedTrainStep(const TrainStepContext& ctx) {
  VMUNET_CHECK(ctx.comm.size() == 1, "CapturedTrainStep: one rank only");
  auto params = ctx.model->parameters();
  VMUNET_CHECK(!params.empty() && params[0].is_cuda(), "CapturedTrainStep: a model on CUDA");
  state_ = std::make_unique<State>(ctx, std::move(params));
}

CapturedTrainStep::~CapturedTrainStep() = default;

bool CapturedTrainStep::fits(const torch::Tensor& x, const torch::Tensor& y) const {
  const auto& s = *state_;
  return s.calls == 0 || (x.sizes() == s.x.sizes() && x.dtype() == s.x.dtype() &&
                          y.sizes() == s.y.sizes() && y.dtype() == s.y.dtype());
}

torch::Tensor CapturedTrainStep::step(const torch::Tensor& x, const torch::Tensor& y,
                                      torch::Tensor& nonfinite) {
  auto& s = *state_;
  VMUNET_CHECK(fits(x, y), "CapturedTrainStep: a batch of other shapes than the captured one");
  const auto caller = c10::cuda::getCurrentCUDAStream(s.stream.device_index());
  s.ready.record(caller);
  s.ready.block(s.stream);
  torch::Tensor loss;
  {
    c10::cuda::CUDAStreamGuard on_graph_stream(s.stream);
    if (s.calls++ == 0) {
      s.x = torch::empty_like(x);
      s.y = torch::empty_like(y);
      s.nonfinite = torch::zeros({}, nonfinite.options());
      loss = train_step(s.ctx, x, y, 1.0, nonfinite);
    } else {
      if (!s.graph) {
        s.graph = std::make_unique<at::cuda::CUDAGraph>();
        s.graph->capture_begin();
        s.nonfinite.zero_();
        s.loss = forward_backward(s.ctx, s.x, s.y, 1.0, s.nonfinite);
        s.graph->capture_end();
        for (const auto& p : s.params) s.grads.push_back(p.grad());
      }
      // An eager step in between gave the parameters gradients of its own.
      for (size_t k = 0; k < s.params.size(); ++k) s.params[k].mutable_grad() = s.grads[k];
      s.x.copy_(x);
      s.y.copy_(y);
      s.graph->replay();
      nonfinite.logical_or_(s.nonfinite);
      adamw_step(s.ctx.optimizer);
      loss = s.loss;
    }
  }
  s.done.record(s.stream);
  s.done.block(caller);
  return loss;
}

#else

struct CapturedTrainStep::State {};

CapturedTrainStep::CapturedTrainStep(const TrainStepContext&) {
  throw Error("train.cuda_graph: this build of vmunet has no CUDA");
}

CapturedTrainStep::~CapturedTrainStep() = default;

bool CapturedTrainStep::fits(const torch::Tensor&, const torch::Tensor&) const { return false; }

torch::Tensor CapturedTrainStep::step(const torch::Tensor&, const torch::Tensor&, torch::Tensor&) {
  throw Error("train.cuda_graph: this build of vmunet has no CUDA");
}

#endif

}  // namespace vmunet
