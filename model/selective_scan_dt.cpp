#include "model/selective_scan_dt.h"

#include <torch/torch.h>

#include "model/scan_autograd.h"
#include "model/selective_scan.h"

namespace vmunet {
namespace {

class SelectiveScanDtFunction : public torch::autograd::Function<SelectiveScanDtFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u,
                               const torch::Tensor& dt_in, const torch::Tensor& dt_w,
                               const torch::Tensor& A, const torch::Tensor& B,
                               const torch::Tensor& C, const torch::Tensor& D,
                               const torch::Tensor& delta_bias, int64_t u_share, int64_t reverse) {
    const auto order = scan_autograd::order_of(u_share, reverse);
    torch::Tensor states;
    const bool keep = scan_autograd::any_requires_grad({u, dt_in, dt_w, A, B, C, D, delta_bias});
    auto y = selective_scan_dt_forward(u, dt_in, dt_w, A, B, C, D, delta_bias, order,
                                       keep ? &states : nullptr);
    // dt_in, B and C may be slices of one buffer (SS2D's x_dbl), kept whole until the backward.
    ctx->save_for_backward({u, dt_in, dt_w, A, B, C, D, delta_bias, states});
    scan_autograd::save_order(ctx, order);
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto order = scan_autograd::saved_order(ctx);
    auto g = selective_scan_dt_backward(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], grads[0],
                                        order, s[8]);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i].to(s[i].scalar_type());
    g.resize(10);  // u_share and reverse are not differentiable
    return g;
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
