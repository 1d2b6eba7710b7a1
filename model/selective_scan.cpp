// Autograd glue and device dispatch for the selective scan: shape checks once here, kernels below
// see contiguous buffers only.
#include "model/selective_scan.h"

#include <torch/torch.h>

#include "common/error.h"
#include "model/scan_autograd.h"
#include "model/scan_delta.h"
#ifdef VMUNET_CUDA
#include "model/selective_scan_cuda.h"
#endif

namespace vmunet {
namespace {

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

void check_shape(const torch::Tensor& t, const char* name, std::vector<int64_t> expected) {
  TORCH_CHECK(t.sizes() == torch::IntArrayRef(expected), "selective_scan: ", name,
              " must have shape ", torch::IntArrayRef(expected), ", found ", shape_str(t));
}

struct Shapes {
  int64_t batch, channels, groups, length, dstate;
};

void check_device(const torch::Tensor& t, const torch::Tensor& u) {
  TORCH_CHECK(t.device() == u.device(), "selective_scan: all inputs must be on ", u.device(),
              ", found one on ", t.device());
}

// `delta`: Δ's sizes (batch, channels, length) (ScanDelta::sizes for a projected Δ).
Shapes check_inputs(const torch::Tensor& u, torch::IntArrayRef delta, const torch::Tensor& A,
                    const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
                    const torch::Tensor& delta_bias, const ScanOrder& order) {
  TORCH_CHECK(delta.size() == 3, "selective_scan: delta must be (batch, channels, length), found ",
              delta);
  TORCH_CHECK(B.dim() == 4, "selective_scan: B must be (batch, groups, dstate, length), found ",
              shape_str(B));
  Shapes s{delta[0], delta[1], B.size(1), delta[2], B.size(2)};
  TORCH_CHECK(s.groups > 0 && s.channels % s.groups == 0, "selective_scan: channels (", s.channels,
              ") must be a multiple of B's groups (", s.groups, ")");
  TORCH_CHECK(order.u_share >= 1 && s.groups % order.u_share == 0,
              "selective_scan: order.u_share (", order.u_share, ") must divide the groups (",
              s.groups, ")");
  TORCH_CHECK(s.groups >= 32 || (order.reverse >> s.groups) == 0,
              "selective_scan: order.reverse names a group past the last of ", s.groups);
  check_shape(u, "u", {s.batch, s.channels / order.u_share, s.length});
  check_shape(A, "A", {s.channels, s.dstate});
  check_shape(B, "B", {s.batch, s.groups, s.dstate, s.length});
  check_shape(C, "C", {s.batch, s.groups, s.dstate, s.length});
  check_shape(D, "D", {s.channels});
  check_shape(delta_bias, "delta_bias", {s.channels});
  for (const auto* t : {&A, &B, &C, &D, &delta_bias}) check_device(*t, u);
  return s;
}

// The kernels give du one row per channel; groups sharing a slice of u add theirs, in group order.
torch::Tensor sum_shared_du(const torch::Tensor& du, const Shapes& s, const ScanOrder& order) {
  if (order.u_share == 1) return du;
#ifdef VMUNET_CUDA
  if (du.is_cuda()) return selective_scan_sum_shared_du_cuda(du, s.groups, order.u_share);
#endif
  const int64_t per_group = s.channels / s.groups;
  // Added slice by slice, in group order.
  const auto v = du.view({s.batch, s.groups / order.u_share, order.u_share, per_group, s.length});
  auto sum = v.select(2, 0) + v.select(2, 1);
  for (int64_t i = 2; i < order.u_share; ++i) sum += v.select(2, i);
  return sum.view({s.batch, s.channels / order.u_share, s.length});
}

template <typename T, typename P>
void fill_params(P& p, const Shapes& s, const ScanOrder& order,
                 const std::vector<torch::Tensor>& in) {
  p.order = order;
  p.batch = s.batch;
  p.channels = s.channels;
  p.groups = s.groups;
  p.length = s.length;
  p.dstate = s.dstate;
  p.u = in[0].data_ptr<T>();
  p.delta = in[1].defined() ? in[1].data_ptr<T>() : nullptr;
  p.A = in[2].data_ptr<T>();
  p.B = in[3].data_ptr<T>();
  p.C = in[4].data_ptr<T>();
  p.D = in[5].data_ptr<T>();
  p.delta_bias = in[6].data_ptr<T>();
}

// CPU kernels take one dtype for all inputs: float unless u is double (the gradient checks).
std::vector<torch::Tensor> cpu_inputs(std::initializer_list<torch::Tensor> ts,
                                      torch::ScalarType dt) {
  std::vector<torch::Tensor> out;
  for (const auto& t : ts) out.push_back(t.defined() ? t.to(dt).contiguous() : t);
  return out;
}

class SelectiveScanFunction : public torch::autograd::Function<SelectiveScanFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u,
                               const torch::Tensor& delta, const torch::Tensor& A,
                               const torch::Tensor& B, const torch::Tensor& C,
                               const torch::Tensor& D, const torch::Tensor& delta_bias,
                               int64_t u_share, int64_t reverse) {
    const auto order = scan_autograd::order_of(u_share, reverse);
    torch::Tensor states;
    const bool keep = scan_autograd::any_requires_grad({u, delta, A, B, C, D, delta_bias});
    auto y =
        selective_scan_forward(u, delta, A, B, C, D, delta_bias, order, keep ? &states : nullptr);
    ctx->save_for_backward({u, delta, A, B, C, D, delta_bias, states});
    scan_autograd::save_order(ctx, order);
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto order = scan_autograd::saved_order(ctx);
    auto g =
        selective_scan_backward(s[0], s[1], s[2], s[3], s[4], s[5], s[6], grads[0], order, s[7]);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i].to(s[i].scalar_type());
    g.emplace_back();  // u_share and reverse are not differentiable
    g.emplace_back();
    return g;
  }
};

Shapes check_dt_inputs(const torch::Tensor& u, const torch::Tensor& dt_in,
                       const torch::Tensor& dt_w, const torch::Tensor& A, const torch::Tensor& B,
                       const torch::Tensor& C, const torch::Tensor& D,
                       const torch::Tensor& delta_bias, const ScanOrder& order) {
  TORCH_CHECK(dt_in.dim() == 4 && dt_w.dim() == 3 && dt_w.size(0) == dt_in.size(1) &&
                  dt_w.size(2) == dt_in.size(2),
              "selective_scan_dt: dt_in must be (batch, groups, rank, length) and dt_w (groups, "
              "channels / groups, rank), found ",
              shape_str(dt_in), " and ", shape_str(dt_w));
  check_device(dt_in, u);
  check_device(dt_w, u);
  const Shapes s =
      check_inputs(u, ScanDelta{{}, dt_in, dt_w}.sizes(), A, B, C, D, delta_bias, order);
  TORCH_CHECK(dt_in.size(1) == s.groups, "selective_scan_dt: dt_in has ", dt_in.size(1),
              " groups, B has ", s.groups);
  return s;
}

template <typename T, typename P>
void fill_dt_params(P& p, const torch::Tensor& dt_in, const torch::Tensor& dt_w) {
  p.dt_in = dt_in.data_ptr<T>();
  p.dt_w = dt_w.data_ptr<T>();
  p.dt_rank = dt_in.size(2);
}

torch::Tensor cpu_forward(const Shapes& s, const ScanOrder& order, const torch::Tensor& u,
                          const ScanDelta& delta, const torch::Tensor& A, const torch::Tensor& B,
                          const torch::Tensor& C, const torch::Tensor& D,
                          const torch::Tensor& delta_bias) {
  const auto dt = u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto in = cpu_inputs({u, delta.delta, A, B, C, D, delta_bias, delta.dt_in, delta.dt_w}, dt);
  auto y = torch::empty({s.batch, s.channels, s.length}, in[0].options());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    SelectiveScanParams<T> p;
    fill_params<T>(p, s, order, in);
    if (in[7].defined()) fill_dt_params<T>(p, in[7], in[8]);
    p.y = y.data_ptr<T>();
    selective_scan_fwd_cpu(p);
  };
  if (dt == torch::kDouble)
    run(double{});
  else
    run(float{});
  return y;
}

// Gradients in input order: u, then delta's (or dt_in's and dt_w's), A, B, C, D, delta_bias.
std::vector<torch::Tensor> cpu_backward(const Shapes& s, const ScanOrder& order,
                                        const torch::Tensor& u, const ScanDelta& delta,
                                        const torch::Tensor& A, const torch::Tensor& B,
                                        const torch::Tensor& C, const torch::Tensor& D,
                                        const torch::Tensor& delta_bias, const torch::Tensor& dy) {
  const auto dt = u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto in =
      cpu_inputs({u, delta.delta, A, B, C, D, delta_bias, delta.dt_in, delta.dt_w, dy}, dt);
  const bool projected = in[7].defined();
  // du: one row per channel, like delta, before the shared-slice sum.
  std::vector<torch::Tensor> grads{torch::empty({s.batch, s.channels, s.length}, in[0].options())};
  if (projected) {
    grads.push_back(torch::empty_like(in[7]));
    grads.push_back(torch::empty_like(in[8]));
  } else {
    grads.push_back(torch::empty_like(in[1]));
  }
  const size_t first_param = grads.size();  // dA's index
  for (int i = 2; i < 7; ++i) grads.push_back(torch::empty_like(in[i]));
  auto run = [&](auto tag) {
    using T = decltype(tag);
    SelectiveScanGradParams<T> p;
    fill_params<T>(p, s, order, in);
    p.dy = in[9].data_ptr<T>();
    p.du = grads[0].data_ptr<T>();
    if (projected) {
      fill_dt_params<T>(p, in[7], in[8]);
      p.d_dt_in = grads[1].data_ptr<T>();
      p.d_dt_w = grads[2].data_ptr<T>();
    } else {
      p.ddelta = grads[1].data_ptr<T>();
    }
    T** params[] = {&p.dA, &p.dB, &p.dC, &p.dD, &p.ddelta_bias};
    for (size_t i = 0; i < 5; ++i) *params[i] = grads[first_param + i].data_ptr<T>();
    selective_scan_bwd_cpu(p);
  };
  if (dt == torch::kDouble)
    run(double{});
  else
    run(float{});
  grads[0] = sum_shared_du(grads[0], s, order);
  return grads;
}

}  // namespace

torch::Tensor selective_scan_forward(const torch::Tensor& u, const torch::Tensor& delta,
                                     const torch::Tensor& A, const torch::Tensor& B,
                                     const torch::Tensor& C, const torch::Tensor& D,
                                     const torch::Tensor& delta_bias, const ScanOrder& order,
                                     torch::Tensor* tile_states) {
  const Shapes s = check_inputs(u, delta.sizes(), A, B, C, D, delta_bias, order);
  check_device(delta, u);
#ifdef VMUNET_CUDA
  if (u.is_cuda())
    return selective_scan_fwd_cuda(u, delta, A, B, C, D, delta_bias, order, 0, tile_states);
#endif
  if (tile_states) *tile_states = torch::Tensor();
  TORCH_CHECK(u.is_cpu(), "selective_scan: no kernel for device ", u.device(),
              " in this build (CUDA kernels are built only against a CUDA LibTorch)");
  return cpu_forward(s, order, u, {delta, {}, {}}, A, B, C, D, delta_bias);
}

std::vector<torch::Tensor> selective_scan_backward(const torch::Tensor& u,
                                                   const torch::Tensor& delta,
                                                   const torch::Tensor& A, const torch::Tensor& B,
                                                   const torch::Tensor& C, const torch::Tensor& D,
                                                   const torch::Tensor& delta_bias,
                                                   const torch::Tensor& dy, const ScanOrder& order,
                                                   const torch::Tensor& tile_states) {
  const Shapes s = check_inputs(u, delta.sizes(), A, B, C, D, delta_bias, order);
  check_device(delta, u);
  check_shape(dy, "dy", {s.batch, s.channels, s.length});
#ifdef VMUNET_CUDA
  if (u.is_cuda()) {
    auto grads =
        selective_scan_bwd_cuda(u, delta, A, B, C, D, delta_bias, dy, order, 0, tile_states);
    grads[0] = sum_shared_du(grads[0], s, order);
    return grads;
  }
#endif
  TORCH_CHECK(u.is_cpu(), "selective_scan: no kernel for device ", u.device(), " in this build");
  TORCH_CHECK(!tile_states.defined(), "selective_scan: the CPU kernels keep no tile states");
  return cpu_backward(s, order, u, {delta, {}, {}}, A, B, C, D, delta_bias, dy);
}

torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta,
                             const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                             const torch::Tensor& D, const torch::Tensor& delta_bias,
                             const ScanOrder& order) {
  return SelectiveScanFunction::apply(u, delta, A, B, C, D, delta_bias, int64_t(order.u_share),
                                      int64_t(order.reverse));
}

torch::Tensor selective_scan_dt_forward(const torch::Tensor& u, const torch::Tensor& dt_in,
                                        const torch::Tensor& dt_w, const torch::Tensor& A,
                                        const torch::Tensor& B, const torch::Tensor& C,
                                        const torch::Tensor& D, const torch::Tensor& delta_bias,
                                        const ScanOrder& order, torch::Tensor* tile_states) {
  const Shapes s = check_dt_inputs(u, dt_in, dt_w, A, B, C, D, delta_bias, order);
#ifdef VMUNET_CUDA
  if (u.is_cuda())
    return selective_scan_dt_fwd_cuda(u, dt_in, dt_w, A, B, C, D, delta_bias, order, tile_states);
#endif
  if (tile_states) *tile_states = torch::Tensor();
  TORCH_CHECK(u.is_cpu(), "selective_scan: no kernel for device ", u.device(), " in this build");
  return cpu_forward(s, order, u, {{}, dt_in, dt_w}, A, B, C, D, delta_bias);
}

std::vector<torch::Tensor> selective_scan_dt_backward(
    const torch::Tensor& u, const torch::Tensor& dt_in, const torch::Tensor& dt_w,
    const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy, const ScanOrder& order,
    const torch::Tensor& tile_states) {
  const Shapes s = check_dt_inputs(u, dt_in, dt_w, A, B, C, D, delta_bias, order);
  check_shape(dy, "dy", {s.batch, s.channels, s.length});
#ifdef VMUNET_CUDA
  if (u.is_cuda()) {
    auto g =
        selective_scan_dt_bwd_cuda(u, dt_in, dt_w, A, B, C, D, delta_bias, dy, order, tile_states);
    // Δ = W·X per (batch, group): dX = Wᵀ·dΔ, dW = Σ_batch dΔ·Xᵀ, in dt_in's dtype.
    const auto ddelta =
        g[1].to(dt_in.scalar_type()).view({dt_in.size(0), dt_in.size(1), -1, dt_in.size(3)});
    const auto d_dt_in = torch::matmul(dt_w.to(dt_in.scalar_type()).transpose(1, 2), ddelta);
    const auto d_dt_w = torch::matmul(ddelta, dt_in.transpose(2, 3)).sum(0);
    return {sum_shared_du(g[0], s, order), d_dt_in, d_dt_w, g[2], g[3], g[4], g[5], g[6]};
  }
#endif
  TORCH_CHECK(u.is_cpu(), "selective_scan: no kernel for device ", u.device(), " in this build");
  TORCH_CHECK(!tile_states.defined(), "selective_scan: the CPU kernels keep no tile states");
  return cpu_backward(s, order, u, {{}, dt_in, dt_w}, A, B, C, D, delta_bias, dy);
}

}  // namespace vmunet
