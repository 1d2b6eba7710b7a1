// Autograd glue and device dispatch for the selective scan: shape checks once here, kernels below
// see contiguous buffers only.
#include "model/selective_scan.h"

#include <torch/torch.h>

#include "common/error.h"
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

// u is (batch, channels, length), or with kSS2D (batch, channels / 4, length).
Shapes check_inputs(const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
                    const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
                    const torch::Tensor& delta_bias, const ScanLayout& layout) {
  TORCH_CHECK(u.dim() == 3, "selective_scan: u must be (batch, channels, length), found ",
              shape_str(u));
  TORCH_CHECK(B.dim() == 4, "selective_scan: B must be (batch, groups, dstate, length), found ",
              shape_str(B));
  const int64_t channels = layout.ss2d() ? 4 * u.size(1) : u.size(1);
  Shapes s{u.size(0), channels, B.size(1), u.size(2), B.size(2)};
  TORCH_CHECK(!layout.ss2d() || s.groups == 4,
              "selective_scan_2d: B must have 4 groups (one per direction), found ", s.groups);
  TORCH_CHECK(s.groups > 0 && s.channels % s.groups == 0, "selective_scan: channels (", s.channels,
              ") must be a multiple of B's groups (", s.groups, ")");
  check_shape(delta, "delta", {s.batch, s.channels, s.length});
  check_shape(A, "A", {s.channels, s.dstate});
  check_shape(B, "B", {s.batch, s.groups, s.dstate, s.length});
  check_shape(C, "C", {s.batch, s.groups, s.dstate, s.length});
  check_shape(D, "D", {s.channels});
  check_shape(delta_bias, "delta_bias", {s.channels});
  for (const auto* t : {&delta, &A, &B, &C, &D, &delta_bias})
    TORCH_CHECK(t->device() == u.device(), "selective_scan: all inputs must be on ", u.device(),
                ", found one on ", t->device());
  return s;
}

template <typename T, typename P>
void fill_params(P& p, const Shapes& s, const ScanLayout& layout,
                 const std::vector<torch::Tensor>& in) {
  p.batch = s.batch;
  p.channels = s.channels;
  p.groups = s.groups;
  p.length = s.length;
  p.dstate = s.dstate;
  p.layout = layout;
  p.u = in[0].data_ptr<T>();
  p.delta = in[1].data_ptr<T>();
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
  for (const auto& t : ts) out.push_back(t.to(dt).contiguous());
  return out;
}

class SelectiveScanFunction : public torch::autograd::Function<SelectiveScanFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u,
                               const torch::Tensor& delta, const torch::Tensor& A,
                               const torch::Tensor& B, const torch::Tensor& C,
                               const torch::Tensor& D, const torch::Tensor& delta_bias) {
    ctx->save_for_backward({u, delta, A, B, C, D, delta_bias});
    return selective_scan_forward(u, delta, A, B, C, D, delta_bias);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    auto g = selective_scan_backward(s[0], s[1], s[2], s[3], s[4], s[5], s[6], grads[0]);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i].to(s[i].scalar_type());
    return g;
  }
};

// The kernels for either layout: y (batch, channels, length).
torch::Tensor scan_forward(const torch::Tensor& u, const torch::Tensor& delta,
                           const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                           const torch::Tensor& D, const torch::Tensor& delta_bias,
                           const ScanLayout& layout) {
  const Shapes s = check_inputs(u, delta, A, B, C, D, delta_bias, layout);
#ifdef VMUNET_CUDA
  if (u.is_cuda()) return selective_scan_fwd_cuda(u, delta, A, B, C, D, delta_bias, 0, layout);
#endif
  TORCH_CHECK(u.is_cpu(), "selective_scan: no kernel for device ", u.device(),
              " in this build (CUDA kernels are built only against a CUDA LibTorch)");
  const auto dt = u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto in = cpu_inputs({u, delta, A, B, C, D, delta_bias}, dt);
  auto y = torch::empty({s.batch, s.channels, s.length}, in[1].options());
  auto run = [&](auto tag) {
    using T = decltype(tag);
    SelectiveScanParams<T> p;
    fill_params<T>(p, s, layout, in);
    p.y = y.data_ptr<T>();
    selective_scan_fwd_cpu(p);
  };
  if (dt == torch::kDouble)
    run(double{});
  else
    run(float{});
  return y;
}

// The seven gradients for either layout; dy has u's shape, du delta's (kSS2D: per direction).
std::vector<torch::Tensor> scan_backward(const torch::Tensor& u, const torch::Tensor& delta,
                                         const torch::Tensor& A, const torch::Tensor& B,
                                         const torch::Tensor& C, const torch::Tensor& D,
                                         const torch::Tensor& delta_bias, const torch::Tensor& dy,
                                         const ScanLayout& layout) {
  const Shapes s = check_inputs(u, delta, A, B, C, D, delta_bias, layout);
  check_shape(dy, "dy", u.sizes().vec());
#ifdef VMUNET_CUDA
  if (u.is_cuda()) return selective_scan_bwd_cuda(u, delta, A, B, C, D, delta_bias, dy, 0, layout);
#endif
  TORCH_CHECK(u.is_cpu(), "selective_scan: no kernel for device ", u.device(), " in this build");
  const auto dt = u.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  const auto in = cpu_inputs({u, delta, A, B, C, D, delta_bias, dy}, dt);
  std::vector<torch::Tensor> grads;
  for (int i = 0; i < 7; ++i) grads.push_back(torch::empty_like(in[i == 0 ? 1 : i]));
  auto run = [&](auto tag) {
    using T = decltype(tag);
    SelectiveScanGradParams<T> p;
    fill_params<T>(p, s, layout, in);
    p.dy = in[7].data_ptr<T>();
    p.du = grads[0].data_ptr<T>();
    p.ddelta = grads[1].data_ptr<T>();
    p.dA = grads[2].data_ptr<T>();
    p.dB = grads[3].data_ptr<T>();
    p.dC = grads[4].data_ptr<T>();
    p.dD = grads[5].data_ptr<T>();
    p.ddelta_bias = grads[6].data_ptr<T>();
    selective_scan_bwd_cpu(p);
  };
  if (dt == torch::kDouble)
    run(double{});
  else
    run(float{});
  return grads;
}

// (batch, D, H, W) -> (batch, D, H·W) and the layout of its grid.
std::pair<torch::Tensor, ScanLayout> grid_sequence(const torch::Tensor& u) {
  TORCH_CHECK(u.dim() == 4, "selective_scan_2d: u must be (batch, channels, height, width), found ",
              shape_str(u));
  ScanLayout layout{ScanOrder::kSS2D, u.size(2), u.size(3)};
  return {u.reshape({u.size(0), u.size(1), -1}), layout};
}

class SelectiveScan2dFunction : public torch::autograd::Function<SelectiveScan2dFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& u,
                               const torch::Tensor& delta, const torch::Tensor& A,
                               const torch::Tensor& B, const torch::Tensor& C,
                               const torch::Tensor& D, const torch::Tensor& delta_bias) {
    ctx->save_for_backward({u, delta, A, B, C, D, delta_bias});
    const auto y = selective_scan_2d_forward(u, delta, A, B, C, D, delta_bias);
    return y.view({u.size(0), 4, u.size(1), u.size(2), u.size(3)}).sum(1);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    auto g = selective_scan_2d_backward(s[0], s[1], s[2], s[3], s[4], s[5], s[6], grads[0]);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i].to(s[i].scalar_type());
    return g;
  }
};

}  // namespace

torch::Tensor selective_scan_forward(const torch::Tensor& u, const torch::Tensor& delta,
                                     const torch::Tensor& A, const torch::Tensor& B,
                                     const torch::Tensor& C, const torch::Tensor& D,
                                     const torch::Tensor& delta_bias) {
  return scan_forward(u, delta, A, B, C, D, delta_bias, ScanLayout{});
}

std::vector<torch::Tensor> selective_scan_backward(const torch::Tensor& u,
                                                   const torch::Tensor& delta,
                                                   const torch::Tensor& A, const torch::Tensor& B,
                                                   const torch::Tensor& C, const torch::Tensor& D,
                                                   const torch::Tensor& delta_bias,
                                                   const torch::Tensor& dy) {
  return scan_backward(u, delta, A, B, C, D, delta_bias, dy, ScanLayout{});
}

torch::Tensor selective_scan_2d_forward(const torch::Tensor& u, const torch::Tensor& delta,
                                        const torch::Tensor& A, const torch::Tensor& B,
                                        const torch::Tensor& C, const torch::Tensor& D,
                                        const torch::Tensor& delta_bias) {
  const auto [seq, layout] = grid_sequence(u);
  return scan_forward(seq, delta, A, B, C, D, delta_bias, layout);
}

std::vector<torch::Tensor> selective_scan_2d_backward(
    const torch::Tensor& u, const torch::Tensor& delta, const torch::Tensor& A,
    const torch::Tensor& B, const torch::Tensor& C, const torch::Tensor& D,
    const torch::Tensor& delta_bias, const torch::Tensor& dy) {
  const auto [seq, layout] = grid_sequence(u);
  check_shape(dy, "dy", u.sizes().vec());
  auto g = scan_backward(seq, delta, A, B, C, D, delta_bias, dy.reshape(seq.sizes()), layout);
  // The four directions' du, summed in a fixed order (float32 for bfloat16 inputs).
  g[0] = g[0].view({u.size(0), 4, u.size(1), u.size(2), u.size(3)})
             .sum({1}, false, g[0].scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat)
             .to(g[0].scalar_type());
  return g;
}

torch::Tensor selective_scan(const torch::Tensor& u, const torch::Tensor& delta,
                             const torch::Tensor& A, const torch::Tensor& B, const torch::Tensor& C,
                             const torch::Tensor& D, const torch::Tensor& delta_bias) {
  return SelectiveScanFunction::apply(u, delta, A, B, C, D, delta_bias);
}

torch::Tensor selective_scan_2d(const torch::Tensor& u, const torch::Tensor& delta,
                                const torch::Tensor& A, const torch::Tensor& B,
                                const torch::Tensor& C, const torch::Tensor& D,
                                const torch::Tensor& delta_bias) {
  return SelectiveScan2dFunction::apply(u, delta, A, B, C, D, delta_bias);
}

}  // namespace vmunet
