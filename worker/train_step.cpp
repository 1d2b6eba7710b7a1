#include "worker/train_step.h"

#include <torch/torch.h>

#include "worker/autocast.h"
#include "worker/optimizer.h"

namespace vmunet {
namespace {

// The loss to differentiate on this rank, scaled so that the gradients summed over ranks are
// those of the global-batch loss, and this rank's share of the global loss value. The softmax
// Dice pools its sums over the whole global batch, so every rank differentiates the global Dice
// through its own sums.
struct RankLoss {
  torch::Tensor backward, reported;
};

RankLoss rank_loss(const TrainStepContext& ctx, const torch::Tensor& logits,
                   const torch::Tensor& target, double share, torch::Tensor& nonfinite) {
  if (ctx.task == Task::binary) {
    // NaN probabilities would trip BCE's range check (a device assert on CUDA).
    auto probs = ctx.model->output(logits);
    nonfinite.logical_or_(probs.isfinite().all().logical_not());
    auto loss = share * bce_dice_loss(torch::nan_to_num(probs, 0.5), target, ctx.loss);
    return {loss, loss.detach()};
  }
  auto local = softmax_dice_sums(logits, target);
  auto global = local.detach().clone();
  ctx.comm.all_reduce_sum(global);
  auto dice = dice_loss_from_sums(local + (global - local.detach()));
  auto ce = share * ctx.loss.data * torch::nn::functional::cross_entropy(logits, target);
  return {ce + ctx.loss.dice * dice, (ce + share * ctx.loss.dice * dice).detach()};
}

}  // namespace

torch::Tensor forward_backward(const TrainStepContext& ctx, const torch::Tensor& x,
                               const torch::Tensor& y, double share, torch::Tensor& nonfinite) {
  torch::Tensor logits;
  {
    Bf16Autocast autocast(ctx.precision == Precision::bf16);
    logits = ctx.model->forward(x);
  }
  auto loss = rank_loss(ctx, logits.to(torch::kFloat), y, share, nonfinite);
  ctx.reducer.prepare(1.0);
  loss.backward.backward();
  ctx.reducer.finish();
  return loss.reported;
}

torch::Tensor train_step(const TrainStepContext& ctx, const torch::Tensor& x,
                         const torch::Tensor& y, double share, torch::Tensor& nonfinite) {
  auto loss = forward_backward(ctx, x, y, share, nonfinite);
  adamw_step(ctx.optimizer);
  return loss;
}

}  // namespace vmunet
