#include "worker/losses.h"

#include <torch/torch.h>

namespace vmunet {
namespace {

void check_binary_inputs(const torch::Tensor& probs, const torch::Tensor& target) {
  TORCH_CHECK(probs.sizes() == target.sizes(), "binary loss: probs ", probs.sizes(), " and target ",
              target.sizes(), " must have the same shape");
  TORCH_CHECK(probs.dim() >= 2 && probs.is_floating_point() && target.is_floating_point(),
              "binary loss: expected floating (B, ...) tensors, got probs ", probs.scalar_type(),
              " ", probs.sizes(), " and target ", target.scalar_type());
}

}  // namespace

torch::Tensor binary_dice_loss(const torch::Tensor& probs, const torch::Tensor& target) {
  check_binary_inputs(probs, target);
  const int64_t B = probs.size(0);
  auto p = probs.reshape({B, -1});
  auto t = target.reshape({B, -1});
  auto dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1);
  return 1 - dice.sum() / B;
}

torch::Tensor bce_dice_loss(const torch::Tensor& probs, const torch::Tensor& target,
                            const LossWeights& w) {
  check_binary_inputs(probs, target);
  auto bce = torch::binary_cross_entropy(probs, target);
  return w.data * bce + w.dice * binary_dice_loss(probs, target);
}

torch::Tensor softmax_dice_sums(const torch::Tensor& logits, const torch::Tensor& labels) {
  TORCH_CHECK(logits.dim() >= 2 && logits.is_floating_point(),
              "softmax Dice: logits must be floating (B, K, ...), got ", logits.scalar_type(), " ",
              logits.sizes());
  TORCH_CHECK(labels.scalar_type() == torch::kLong, "softmax Dice: labels must be int64, got ",
              labels.scalar_type());
  auto expected = logits.sizes().vec();
  expected.erase(expected.begin() + 1);
  TORCH_CHECK(labels.sizes() == expected, "softmax Dice: labels ", labels.sizes(),
              " must be the logits' shape ", logits.sizes(), " without dim 1");
  const int64_t K = logits.size(1);
  auto p = torch::softmax(logits, 1);
  // one_hot appends the class dim; move it to dim 1 beside the logits' classes.
  auto t = torch::one_hot(labels, K).movedim(-1, 1).to(p.scalar_type());
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < p.dim(); ++d) dims.push_back(d);
  return torch::stack({(p * t).sum(dims), (p * p).sum(dims), (t * t).sum(dims)}, 1);
}

torch::Tensor dice_loss_from_sums(const torch::Tensor& sums) {
  TORCH_CHECK(sums.dim() == 2 && sums.size(1) == 3, "softmax Dice: sums must be (K, 3), got ",
              sums.sizes());
  constexpr double smooth = 1e-5;
  auto intersect = sums.select(1, 0), z_sum = sums.select(1, 1), y_sum = sums.select(1, 2);
  auto dice = (2 * intersect + smooth) / (z_sum + y_sum + smooth);
  return (1 - dice).mean();
}

torch::Tensor softmax_dice_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return dice_loss_from_sums(softmax_dice_sums(logits, labels));
}

torch::Tensor ce_dice_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                           const LossWeights& w) {
  auto dice = softmax_dice_loss(logits, labels);  // validates the inputs first
  auto ce = torch::cross_entropy_loss(logits, labels);
  return w.data * ce + w.dice * dice;
}

}  // namespace vmunet
