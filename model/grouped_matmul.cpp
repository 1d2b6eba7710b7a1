#include "model/grouped_matmul.h"

#include <torch/torch.h>

namespace vmunet {
namespace {

// (B, G, R, L) → (G, R, B·L): each group's batch side by side as columns.
torch::Tensor batch_as_columns(const torch::Tensor& t) {
  return t.permute({1, 2, 0, 3}).reshape({t.size(1), t.size(2), t.size(0) * t.size(3)});
}

}  // namespace

torch::Tensor grouped_matmul(const torch::Tensor& w, const torch::Tensor& x) {
  if (!x.is_cpu()) return torch::matmul(w, x);
  const int64_t B = x.size(0), G = x.size(1), M = w.size(1), L = x.size(3);
  return torch::bmm(w, batch_as_columns(x)).view({G, M, B, L}).permute({2, 0, 1, 3});
}

}  // namespace vmunet
