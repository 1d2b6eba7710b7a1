// One optimisation step of data-parallel training, shared by the trainer and `vmunet bench`, so
// the bench times exactly what training runs: forward (bf16 autocast when asked), the loss of this
// rank's share of the global batch, backward with the gradients summed over the ranks while it
// runs, and AdamW.
#pragma once

#include <torch/optim/adamw.h>
#include <torch/types.h>

#include "model/vmunet.h"
#include "storage/dataset.h"
#include "worker/communicator.h"
#include "worker/config_enums.h"
#include "worker/gradient_reducer.h"
#include "worker/losses.h"

namespace vmunet {

// What stays the same from step to step; every member outlives the steps.
struct TrainStepContext {
  VMUNet& model;
  torch::optim::AdamW& optimizer;
  GradientReducer& reducer;
  Communicator& comm;
  Task task;
  LossWeights loss;
  Precision precision;
};

// Trains on this rank's slice (x, y) of a global batch, `share` being the slice's fraction of it
// (its samples over the global batch's). Returns this rank's share of the global batch's loss, a
// device scalar (summed over ranks it is the global loss), without a host sync. Sets `nonfinite`
// (a device bool) when the binary probabilities were not finite; the divergence is then caught
// from it, and the loss stays in BCE's range meanwhile.
torch::Tensor train_step(const TrainStepContext& ctx, const torch::Tensor& x,
                         const torch::Tensor& y, double share, torch::Tensor& nonfinite);

// train_step without the optimizer: every parameter's .grad holds the global batch's gradient.
// (The part of the step that a CUDA graph captures, worker/cuda_graphs.h.)
torch::Tensor forward_backward(const TrainStepContext& ctx, const torch::Tensor& x,
                               const torch::Tensor& y, double share, torch::Tensor& nonfinite);

}  // namespace vmunet
