// The paper's training losses (DESIGN §3), differentiable through autograd, in the dtype of the
// network output. Each mirrors the official PyTorch code term for term.
#pragma once

#include <torch/types.h>

namespace vmunet {

struct LossWeights {
  double data = 1.0;  // BCE (binary) or cross-entropy (multi-class)
  double dice = 1.0;
};

// Binary soft Dice loss (VM-UNet's DiceLoss). probs: the network's sigmoid output, target: the
// mask in {0, 1}; same shape (B, ...), floating. With p_b, t_b the n pixels of sample b:
//   dice_b = (2·Σ p_b·t_b + 1) / (Σ p_b + Σ t_b + 1)          (smooth 1, sums per sample)
//   loss   = 1 − (1/B)·Σ_b dice_b
torch::Tensor binary_dice_loss(const torch::Tensor& probs, const torch::Tensor& target);

// VM-UNet's BceDiceLoss: w.data·BCE + w.dice·binary_dice_loss, where
//   BCE = mean over all B·n elements of −(t·log p + (1 − t)·log(1 − p)),
// each log clamped to ≥ −100 as torch.nn.BCELoss does (so p = 0 or 1 gives a finite loss).
torch::Tensor bce_dice_loss(const torch::Tensor& probs, const torch::Tensor& target,
                            const LossWeights& w = {});

// The K-class softmax Dice (TransUNet's DiceLoss with softmax=True) is a function of three sums
// per class over the whole batch and all pixels, returned as (K, 3) = [Σ p·t, Σ p², Σ t²] with
// p = softmax(logits, dim 1) and t = one_hot(labels). Because they pool the batch, a data-parallel
// run must all-reduce these sums (not average per-rank losses) to reproduce a one-rank batch.
// logits: (B, K, ...) floating; labels: (B, ...) int64 class ids in [0, K).
torch::Tensor softmax_dice_sums(const torch::Tensor& logits, const torch::Tensor& labels);

// From the (K, 3) sums: dice_k = (2·Σ p·t + 1e-5) / (Σ p² + Σ t² + 1e-5) (squared denominators,
// smooth 1e-5), loss = (1/K)·Σ_k (1 − dice_k), every class including background.
torch::Tensor dice_loss_from_sums(const torch::Tensor& sums);

// dice_loss_from_sums(softmax_dice_sums(logits, labels)).
torch::Tensor softmax_dice_loss(const torch::Tensor& logits, const torch::Tensor& labels);

// VM-UNet's CeDiceLoss: w.data·CE + w.dice·softmax_dice_loss, where CE is the cross-entropy of
// the logits against the labels, averaged over all B·n pixels (torch.nn.CrossEntropyLoss).
torch::Tensor ce_dice_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                           const LossWeights& w = {});

}  // namespace vmunet
