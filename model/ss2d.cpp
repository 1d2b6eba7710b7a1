#include "model/ss2d.h"

#include <torch/torch.h>

#include <cmath>

#include "model/grouped_matmul.h"
#include "model/init.h"
#include "model/selective_scan_dt.h"
#include "model/ss2d_direction_params.h"
#include "model/ss2d_epilogue.h"
#include "model/ss2d_prologue.h"

namespace vmunet {

SS2DImpl::SS2DImpl(int64_t d_model_, int64_t d_state_)
    : d_model(d_model_), d_inner(2 * d_model_), d_state(d_state_), dt_rank((d_model_ + 15) / 16) {
  namespace nn = torch::nn;
  constexpr int64_t K = 4;
  in_proj =
      register_module("in_proj", nn::Linear(nn::LinearOptions(d_model, 2 * d_inner).bias(false)));
  conv2d = register_module(
      "conv2d",
      nn::Conv2d(nn::Conv2dOptions(d_inner, d_inner, 3).groups(d_inner).padding(1).bias(true)));

  // x_proj: four Linear(d_inner -> R + 2N) stacked, PyTorch's default Linear init.
  const double x_bound = 1.0 / std::sqrt(static_cast<double>(d_inner));
  x_proj_weight = register_parameter(
      "x_proj_weight",
      torch::empty({K, dt_rank + 2 * d_state, d_inner}).uniform_(-x_bound, x_bound));

  const double dt_bound = std::pow(static_cast<double>(dt_rank), -0.5);
  dt_projs_weight = register_parameter(
      "dt_projs_weight", torch::empty({K, d_inner, dt_rank}).uniform_(-dt_bound, dt_bound));
  // Δ bias = softplus⁻¹(dt), dt log-uniform in [1e-3, 1e-1], floored at 1e-4.
  const double lo = std::log(1e-3), hi = std::log(1e-1);
  auto dt = torch::exp(torch::rand({K, d_inner}) * (hi - lo) + lo).clamp_min(1e-4);
  dt_projs_bias = register_parameter("dt_projs_bias", dt + torch::log(-torch::expm1(-dt)));

  A_logs = register_parameter(
      "A_logs", torch::log(torch::arange(1, d_state + 1, torch::kFloat)).repeat({K * d_inner, 1}));
  Ds = register_parameter("Ds", torch::ones({K * d_inner}));
  out_norm = register_module("out_norm", nn::LayerNorm(nn::LayerNormOptions({d_inner}).eps(1e-5)));
  out_proj =
      register_module("out_proj", nn::Linear(nn::LinearOptions(d_inner, d_model).bias(false)));

  init::linear_(in_proj->weight);
  init::linear_(out_proj->weight);
}

// The four directions k (0 row-major, 1 column-major, 2 and 3 the same reversed) read two planes:
// the conv output in row-major order and transposed (ss2d_prologue.h). The kernel runs them as
// groups g = 2·plane + reversed, i.e. k = 0, 2, 1, 3: each pair shares its plane and the odd groups
// walk it backwards (ScanOrder), so the plane is never flipped or repeated and each direction's y
// comes back in its plane's order. The per-direction parameters are permuted to that group order.
torch::Tensor SS2DImpl::scan_directions(const torch::Tensor& planes) {
  const int64_t B = planes.size(0), D = planes.size(2), L = planes.size(3);
  constexpr int64_t K = 4;
  const ScanOrder order{2, 0b1010u};

  // One matmul per plane for both of its directions: (2, 2·(R + 2N), D) @ (B, 2, D, L). The
  // planes also feed the scan; their two gradients are added by x_proj's backward GEMM.
  const int64_t rows = dt_rank + 2 * d_state;
  const auto [x_dbl_groups, planes_to_scan] =
      grouped_matmul_and_input(directions_by_group(x_proj_weight).view({2, 2 * rows, D}), planes);
  auto x_dbl = x_dbl_groups.reshape({B, K, rows, L});
  auto parts = x_dbl.split_with_sizes({dt_rank, d_state, d_state}, 2);

  // Δ = dt_projs_weight · parts[0] per direction, formed inside the scan (selective_scan_dt.h).
  // The parts are slices of x_dbl: the CUDA scan reads them in place.
  const auto p = ss2d_direction_params(A_logs, dt_projs_weight, Ds, dt_projs_bias);
  return selective_scan_dt(planes_to_scan.view({B, 2 * D, L}), parts[0], p.dt_w, p.A, parts[1],
                           parts[2], p.D, p.delta_bias, order)
      .view({B, K, D, L});
}

torch::Tensor SS2DImpl::scan_2d(const torch::Tensor& x) {
  return merge_directions(scan_directions(scan_planes(x)), x.size(2), x.size(3));
}

torch::Tensor SS2DImpl::mix(const torch::Tensor& x) {
  // The convolution and SiLU of in_proj's first half, written as the scan's planes
  // (ss2d_prologue.h); out_norm and the gate by the second half, fused with merging the
  // directions (ss2d_epilogue.h).
  const auto [planes, gate] =
      ss2d_prologue_and_gate(in_proj->forward(x), conv2d->weight, conv2d->bias);
  return ss2d_epilogue(scan_directions(planes), gate, out_norm->weight, out_norm->bias,
                       out_norm->options.eps());
}

torch::Tensor SS2DImpl::forward(const torch::Tensor& x) { return out_proj->forward(mix(x)); }

torch::Tensor SS2DImpl::forward_plus(const torch::Tensor& x, const torch::Tensor& residual) {
  const auto y = mix(x);
  if (y.scalar_type() != residual.scalar_type()) return residual + out_proj->forward(y);
  return torch::addmm(residual.reshape({-1, d_model}), y.reshape({-1, d_inner}),
                      out_proj->weight.t())
      .view(residual.sizes());
}

}  // namespace vmunet
