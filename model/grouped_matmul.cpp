#include "model/grouped_matmul.h"

#include <torch/torch.h>

namespace vmunet {
namespace {

// (B, G, R, L) → (G, R, B·L): each group's batch side by side as columns.
torch::Tensor batch_as_columns(const torch::Tensor& t) {
  return t.permute({1, 2, 0, 3}).reshape({t.size(1), t.size(2), t.size(0) * t.size(3)});
}

// out[b, g] = w[g] · x[b, g] (wᵀ[g] with transpose_w), one bmm per group whose weight operand is
// the group's matrix expanded over the batch (stride 0), written into out's (b, g) slices.
// With `add_to` (B, G, M, L), contiguous, the products are added to it in place instead.
torch::Tensor bmm_per_group(const torch::Tensor& w, const torch::Tensor& x, bool transpose_w,
                            torch::Tensor add_to = {}) {
  const auto wg = transpose_w ? w.transpose(1, 2) : w;
  const int64_t B = x.size(0), G = x.size(1), M = wg.size(1), K = wg.size(2), L = x.size(3);
  auto out = add_to.defined() ? add_to : torch::empty({B, G, M, L}, x.options());
  for (int64_t g = 0; g < G; ++g) {
    auto slice = out.select(1, g);
    if (add_to.defined())
      slice.baddbmm_(wg[g].expand({B, M, K}), x.select(1, g));
    else
      torch::bmm_out(slice, wg[g].expand({B, M, K}), x.select(1, g));
  }
  return out;
}

// dW[g] = Σ_b dY[b, g] · X[b, g]ᵀ, the batch added in order as autograd adds a broadcast's.
torch::Tensor weight_grad(const torch::Tensor& dy, const torch::Tensor& x) {
  return torch::matmul(dy, x.transpose(2, 3)).sum(0);
}

class SharedWeightBmm : public torch::autograd::Function<SharedWeightBmm> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& x) {
    ctx->save_for_backward({w, x});
    return bmm_per_group(w, x, false);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto& w = s[0];
    const auto& x = s[1];
    const auto dy = grads[0].to(x.scalar_type()).contiguous();
    return {weight_grad(dy, x), bmm_per_group(w, dy, true)};
  }
};

// SharedWeightBmm with x also returned, its gradient added to the product's input gradient.
class SharedWeightBmmAndInput : public torch::autograd::Function<SharedWeightBmmAndInput> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& w, const torch::Tensor& x) {
    ctx->save_for_backward({w, x});
    return {bmm_per_group(w, x, false), x};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto& w = s[0];
    const auto& x = s[1];
    // The passed-through gradient is this node's alone (autograd hands each node its own), so
    // the GEMM may add into it; a fresh copy where its dtype or layout differ.
    const auto dx = grads[1].defined() ? grads[1].to(x.scalar_type()).contiguous() : grads[1];
    if (!grads[0].defined()) return {torch::Tensor(), dx};
    const auto dy = grads[0].to(x.scalar_type()).contiguous();
    return {weight_grad(dy, x), bmm_per_group(w, dy, true, dx)};
  }
};

}  // namespace

std::pair<torch::Tensor, torch::Tensor> grouped_matmul_and_input(const torch::Tensor& w,
                                                                 const torch::Tensor& x) {
  if (!x.is_cuda()) return {grouped_matmul(w, x), x};
  const auto out = SharedWeightBmmAndInput::apply(w.to(x.scalar_type()), x.contiguous());
  return {out[0], out[1]};
}

torch::Tensor grouped_matmul(const torch::Tensor& w, const torch::Tensor& x) {
  if (x.is_cuda()) return SharedWeightBmm::apply(w.to(x.scalar_type()), x.contiguous());
  if (!x.is_cpu()) return torch::matmul(w, x);
  const int64_t B = x.size(0), G = x.size(1), M = w.size(1), L = x.size(3);
  return torch::bmm(w, batch_as_columns(x)).view({G, M, B, L}).permute({2, 0, 1, 3});
}

}  // namespace vmunet
