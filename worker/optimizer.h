// The paper's optimizer: AdamW with decoupled weight decay on every parameter.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>
#include <vector>

namespace vmunet {

struct AdamWConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

// LibTorch's AdamW over one parameter group holding all of `params`, so weight decay applies to
// every parameter (norms and biases included), as the official code's
// torch.optim.AdamW(model.parameters(), ...) does. Its step is PyTorch's AdamW with
// amsgrad=False: p ← p·(1 − lr·wd), then the bias-corrected Adam update
// p ← p − lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + eps).
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& params,
                                                const AdamWConfig& config);

// One AdamW step for every parameter with a gradient, fused instead of about a dozen element-wise
// operations per tensor: on CUDA (LibTorch 2.x) all tensors go through LibTorch's multi-tensor
// kernel in one call; on the CPU each tensor takes one pass (worker/adamw_cpu.h). Parameters on
// both devices, or a LibTorch without the fused kernel, take the optimizer's own step. All read
// and write the same per-parameter state (step, exp_avg, exp_avg_sq), so checkpoints and resumes
// do not care which ran. `fused` false forces LibTorch's loop (the test comparing the two).
void adamw_step(torch::optim::AdamW& optimizer, bool fused = true);

// Whether adamw_step can take the fused path for tensors on `device` in this build.
bool fused_adamw_available(const torch::Device& device);

// Sets the learning rate of every parameter group (call it with cosine_annealing_lr at the start
// of each epoch).
void set_lr(torch::optim::Optimizer& optimizer, double lr);

}  // namespace vmunet
