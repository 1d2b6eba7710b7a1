#include "worker/cuda_graphs.h"

#include <torch/torch.h>
#ifdef VMUNET_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <functional>
#include <vector>

#include "common/error.h"
#include "worker/autocast.h"
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

namespace {

torch::Tensor eager_forward(VMUNet& model, const torch::Tensor& x, bool bf16) {
  torch::NoGradGuard no_grad;
  Bf16Autocast autocast(bf16);
  return model->forward(x);
}

}  // namespace

#ifdef VMUNET_CUDA

namespace {

// Capture needs a stream other than the default one. Work on it is ordered after what the caller
// has queued on its own stream, and the caller's later work after it.
class SideStream {
 public:
  explicit SideStream(c10::DeviceIndex device)
      : stream_(c10::cuda::getStreamFromPool(false, device)) {}

  torch::Tensor run(const std::function<torch::Tensor()>& work) {
    const auto caller = c10::cuda::getCurrentCUDAStream(stream_.device_index());
    ready_.record(caller);
    ready_.block(stream_);
    torch::Tensor result;
    {
      c10::cuda::CUDAStreamGuard guard(stream_);
      result = work();
    }
    done_.record(stream_);
    done_.block(caller);
    return result;
  }

 private:
  c10::cuda::CUDAStream stream_;
  at::cuda::CUDAEvent ready_, done_;
};

bool same_layout(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.dtype() == b.dtype();
}

}  // namespace

struct CapturedTrainStep::State {
  State(const TrainStepContext& context, std::vector<torch::Tensor> parameters)
      : ctx(context), side(parameters.at(0).device().index()), params(std::move(parameters)) {}

  const TrainStepContext& ctx;
  SideStream side;
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

bool CapturedTrainStep::fits(const torch::Tensor& x, const torch::Tensor& y) const {
  const auto& s = *state_;
  return s.calls == 0 || (same_layout(x, s.x) && same_layout(y, s.y));
}

torch::Tensor CapturedTrainStep::step(const torch::Tensor& x, const torch::Tensor& y,
                                      torch::Tensor& nonfinite) {
  auto& s = *state_;
  VMUNET_CHECK(fits(x, y), "CapturedTrainStep: a batch of other shapes than the captured one");
  return s.side.run([&] {
    if (s.calls++ == 0) {
      s.x = torch::empty_like(x);
      s.y = torch::empty_like(y);
      s.nonfinite = torch::zeros({}, nonfinite.options());
      return train_step(s.ctx, x, y, 1.0, nonfinite);
    }
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
    return s.loss;
  });
}

struct CapturedForward::State {
  explicit State(c10::DeviceIndex device) : side(device) {}
  SideStream side;
  int64_t calls = 0;
  torch::Tensor x, out;  // the graph's input and output
  std::unique_ptr<at::cuda::CUDAGraph> graph;
};

CapturedForward::CapturedForward(VMUNet& model, bool use_graph, bool bf16)
    : model_(model), bf16_(bf16) {
  const auto device = model->parameters().front().device();
  if (use_graph && device.is_cuda()) state_ = std::make_unique<State>(device.index());
}

torch::Tensor CapturedForward::operator()(const torch::Tensor& x) {
  if (!state_ || (state_->calls > 0 && !same_layout(x, state_->x)))
    return eager_forward(model_, x, bf16_);
  auto& s = *state_;
  return s.side.run([&] {
    if (s.calls++ == 0) {
      s.x = torch::empty_like(x);
      return eager_forward(model_, x, bf16_);
    }
    if (!s.graph) {
      s.graph = std::make_unique<at::cuda::CUDAGraph>();
      s.graph->capture_begin();
      s.out = eager_forward(model_, s.x, bf16_);
      s.graph->capture_end();
    }
    s.x.copy_(x);
    s.graph->replay();
    // The next replay overwrites s.out; the caller keeps what it got.
    return s.out.clone();
  });
}

#else

struct CapturedTrainStep::State {};

CapturedTrainStep::CapturedTrainStep(const TrainStepContext&) {
  throw Error("train.cuda_graph: this build of vmunet has no CUDA");
}

bool CapturedTrainStep::fits(const torch::Tensor&, const torch::Tensor&) const { return false; }

torch::Tensor CapturedTrainStep::step(const torch::Tensor&, const torch::Tensor&, torch::Tensor&) {
  throw Error("train.cuda_graph: this build of vmunet has no CUDA");
}

struct CapturedForward::State {};

CapturedForward::CapturedForward(VMUNet& model, bool, bool bf16) : model_(model), bf16_(bf16) {}

torch::Tensor CapturedForward::operator()(const torch::Tensor& x) {
  return eager_forward(model_, x, bf16_);
}

#endif

CapturedTrainStep::~CapturedTrainStep() = default;
CapturedForward::~CapturedForward() = default;

bool CapturedForward::graphed() const { return state_ != nullptr; }

}  // namespace vmunet
