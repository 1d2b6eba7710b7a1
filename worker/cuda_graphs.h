// Work captured once in a CUDA graph and replayed, one launch instead of hundreds, the same
// numbers bit for bit: the training step's forward and backward passes (train.cuda_graph; AdamW
// runs after each replay as it does without the graph, so the step count and the learning rate
// stay on the host, where checkpoints and the cosine schedule keep them), and the network's
// forward pass in evaluation and prediction. Both follow one pattern: the first call of a shape
// runs eagerly (warming LibTorch's lazy state on the graph's stream), the second captures, and
// every call replays; calls of another shape run eagerly.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

#include "worker/train_step.h"

namespace vmunet {

// Why a graph cannot replay this run's steps, or "" when it can: a CUDA device, one rank (the
// all-reduce of several ranks goes through the host), no activation recomputation (it restores
// the random generator's state on the host) and a build with CUDA.
std::string cuda_graph_unsupported(const torch::Device& device, int ranks, bool recompute);

class CapturedTrainStep {
 public:
  // `ctx` must outlive this, and its communicator must have one rank (cuda_graph_unsupported).
  explicit CapturedTrainStep(const TrainStepContext& ctx);
  ~CapturedTrainStep();
  CapturedTrainStep(const CapturedTrainStep&) = delete;
  CapturedTrainStep& operator=(const CapturedTrainStep&) = delete;

  // train_step(ctx, x, y, 1.0, nonfinite) for a batch of the shapes of the first call's; the
  // random draws of drop path follow the generator's seed and offset at the call, as they would
  // eagerly. Eager steps in between (a smaller last batch) may run. Returns the loss in a tensor
  // the next call overwrites.
  torch::Tensor step(const torch::Tensor& x, const torch::Tensor& y, torch::Tensor& nonfinite);

  // Whether (x, y) have the shapes and dtypes of the first call's (always true before it).
  bool fits(const torch::Tensor& x, const torch::Tensor& y) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// model->forward(x) without gradients, under bf16 autocast when asked, replayed from a graph for
// inputs of the first call's shape where `use_graph` and the model is on CUDA (in a build with
// CUDA); eagerly otherwise. The model's mode (train or eval) must stay as at the capture.
class CapturedForward {
 public:
  CapturedForward(VMUNet& model, bool use_graph, bool bf16 = false);
  ~CapturedForward();
  CapturedForward(const CapturedForward&) = delete;
  CapturedForward& operator=(const CapturedForward&) = delete;

  torch::Tensor operator()(const torch::Tensor& x);
  bool graphed() const;  // whether calls replay a graph

 private:
  struct State;
  std::unique_ptr<State> state_;
  VMUNet& model_;
  bool bf16_;
};

}  // namespace vmunet
