#include "model/selective_scan_dt.h"

#include <torch/torch.h>

#include "model/scan_autograd.h"
#include "model/selective_scan.h"

namespace vmunet {
namespace {

// Δ as (batch, channels, length), in dt_in's dtype.
torch::Tensor project_delta(const torch::Tensor& dt_in, const torch::Tensor& dt_w) {
  const auto delta = torch::matmul(dt_w.to(dt_in.scalar_type()), dt_in);  // (b, g, c/g, l)
  return delta.view({dt_in.size(0), -1, dt_in.size(3)});
}

class SelectiveScanDtFunction : public torch::autograd::Function<SelectiveScanDtFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u,
                               const torch::Tensor& dt_in, const torch::Tensor& dt_w,
                               const torch::Tensor& A, const torch::Tensor& B,
                               const torch::Tensor& C, const torch::Tensor& D,
                               const torch::Tensor& delta_bias, int64_t u_share, int64_t reverse) {
    TORCH_CHECK(dt_in.dim() == 4 && dt_w.dim() == 3 && dt_w.size(0) == dt_in.size(1) &&
                    dt_w.size(2) == dt_in.size(2),
                "selective_scan_dt: dt_in must be (batch, groups, rank, length) and dt_w (groups, "
                "channels / groups, rank)");
    const auto dt_in_c = dt_in.contiguous();  // lets the caller's larger buffer go
    const auto order = scan_autograd::order_of(u_share, reverse);
    torch::Tensor states;
    const bool keep = scan_autograd::any_requires_grad({u, dt_in, dt_w, A, B, C, D, delta_bias});
    auto y = u.is_cpu()
                 ? selective_scan_dt_forward_cpu(u, dt_in_c, dt_w, A, B, C, D, delta_bias, order)
                 : selective_scan_forward(u, project_delta(dt_in_c, dt_w), A, B, C, D, delta_bias,
                                          order, keep ? &states : nullptr);
    ctx->save_for_backward({u, dt_in_c, dt_w, A, B, C, D, delta_bias, states});
    scan_autograd::save_order(ctx, order);
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto &u = s[0], &dt_in = s[1], &dt_w = s[2];
    const auto order = scan_autograd::saved_order(ctx);
    if (u.is_cpu()) {
      auto g = selective_scan_dt_backward_cpu(u, dt_in, dt_w, s[3], s[4], s[5], s[6], s[7],
                                              grads[0], order);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i].to(s[i].scalar_type());
      g.resize(10);  // u_share and reverse are not differentiable
      return g;
    }
    auto g = selective_scan_backward(u, project_delta(dt_in, dt_w), s[3], s[4], s[5], s[6], s[7],
                                     grads[0], order, s[8]);
    // Δ = W·X per (batch, group): dX = Wᵀ·dΔ, dW = Σ_batch dΔ·Xᵀ.
    const auto ddelta =
        g[1].to(dt_in.scalar_type()).view({dt_in.size(0), dt_in.size(1), -1, dt_in.size(3)});
    const auto d_dt_in = torch::matmul(dt_w.to(dt_in.scalar_type()).transpose(1, 2), ddelta);
    const auto d_dt_w = torch::matmul(ddelta, dt_in.transpose(2, 3)).sum(0);
    return {g[0].to(u.scalar_type()),
            d_dt_in,
            d_dt_w.to(dt_w.scalar_type()),
            g[2].to(s[3].scalar_type()),
            g[3].to(s[4].scalar_type()),
            g[4].to(s[5].scalar_type()),
            g[5].to(s[6].scalar_type()),
            g[6].to(s[7].scalar_type()),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor selective_scan_dt(const torch::Tensor& u, const torch::Tensor& dt_in,
                                const torch::Tensor& dt_w, const torch::Tensor& A,
                                const torch::Tensor& B, const torch::Tensor& C,
                                const torch::Tensor& D, const torch::Tensor& delta_bias,
                                const ScanOrder& order) {
  return SelectiveScanDtFunction::apply(u, dt_in, dt_w, A, B, C, D, delta_bias,
                                        int64_t(order.u_share), int64_t(order.reverse));
}

}  // namespace vmunet
