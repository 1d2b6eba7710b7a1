#include "model/layer_norm.h"

#include <torch/torch.h>

#include "model/layer_norm_kernels.h"

namespace vmunet {
namespace {

void check_shapes(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& weight,
                  const torch::Tensor& bias) {
  TORCH_CHECK(x.dim() >= 1, "layer_norm: x must have a channel dimension");
  const int64_t C = x.size(-1);
  TORCH_CHECK(!z.defined() || z.sizes() == x.sizes(), "layer_norm: z must have x's shape ",
              x.sizes(), ", got ", z.sizes());
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == C && bias.dim() == 1 && bias.size(0) == C,
              "layer_norm: weight and bias must be (", C, ")");
}

// The fused kernels take float32 weights and, on the CPU, float32 x and z (double stays on
// LibTorch's ops: the reference the tests compare against); on CUDA x of any floating dtype and z
// in float32 or bfloat16.
bool fusable(const torch::Tensor& x, const torch::Tensor& z, const torch::Tensor& weight,
             const torch::Tensor& bias) {
  auto on_x = [&](const torch::Tensor& t) { return t.device() == x.device(); };
  const bool cpu = x.is_cpu() && x.scalar_type() == torch::kFloat;
  bool device = cpu;
#ifdef VMUNET_CUDA
  device = device || x.is_cuda();
#endif
  const bool z_ok = !z.defined() || (on_x(z) && (z.scalar_type() == torch::kFloat ||
                                                 (!cpu && z.scalar_type() == torch::kBFloat16)));
  return device && z_ok && on_x(weight) && on_x(bias) && weight.scalar_type() == torch::kFloat &&
         bias.scalar_type() == torch::kFloat && x.numel() > 0;
}

// Shared by the plain and gated operators (LibTorch 1.13's Function::apply takes no undefined
// tensor, so "no gate" needs its own operator).
// With a token grid (CUDA only), x is (B, H, W, s, s, C) and the result (B, H·s, W·s, C).
torch::Tensor fused_forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                            const torch::Tensor& z, const torch::Tensor& weight,
                            const torch::Tensor& bias, double eps, TokenGrid grid = {}) {
  const int64_t C = x.size(-1);
  // The CUDA kernels widen bfloat16 x in registers, as a conversion would, without writing (and
  // keeping for the backward) a float32 copy.
  const bool as_is = x.is_cuda() && x.scalar_type() == torch::kBFloat16;
  const auto x2 = (as_is ? x : x.to(torch::kFloat)).reshape({-1, C}).contiguous();
  torch::Tensor z2;
  if (z.defined()) {
    z2 = z.reshape({-1, C});  // a view for a chunk of a wider tensor: rows evenly spaced
    if (z2.stride(1) != 1) z2 = z2.contiguous();
  }
#ifdef VMUNET_CUDA
  auto f = x.is_cuda() ? layer_norm_fwd_cuda(x2, z2, weight, bias, eps, grid)
                       : layer_norm_fwd_cpu(x2, z2, weight, bias, eps);
#else
  auto f = layer_norm_fwd_cpu(x2, z2, weight, bias, eps);
#endif
  ctx->save_for_backward({x2, f.mean, f.rstd, z2, weight, bias});
  ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
  ctx->saved_data["shape"] = x.sizes().vec();
  ctx->saved_data["grid"] = std::vector<int64_t>{grid.width, grid.scale};
  if (grid.scale == 0) return f.out.view(x.sizes());
  return f.out.view({x.size(0), x.size(1) * grid.scale, x.size(2) * grid.scale, C});
}

// {dx, dz (undefined without a gate), dweight, dbias}; dx_add (optional, x's shape; CUDA only)
// is added to dx in the kernel.
std::vector<torch::Tensor> fused_backward(torch::autograd::AutogradContext* ctx,
                                          const torch::Tensor& dout,
                                          const torch::Tensor& dx_add = {}) {
  const auto s = ctx->get_saved_variables();
  const auto shape = ctx->saved_data["shape"].toIntVector();
  const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
  const auto grid = ctx->saved_data["grid"].toIntVector();
  const auto dout2 = dout.reshape({-1, shape.back()});
#ifdef VMUNET_CUDA
  const auto add2 = dx_add.defined()
                        ? dx_add.to(s[0].scalar_type()).reshape({-1, shape.back()}).contiguous()
                        : dx_add;
  auto g = s[0].is_cuda() ? layer_norm_bwd_cuda(dout2, s[0], s[1], s[2], s[3], s[4], s[5],
                                                TokenGrid{grid[0], grid[1]}, add2)
                          : layer_norm_bwd_cpu(dout2, s[0], s[1], s[2], s[3], s[4], s[5]);
#else
  TORCH_CHECK(!dx_add.defined(), "layer_norm: adding to dx is done on CUDA only");
  auto g = layer_norm_bwd_cpu(dout2, s[0], s[1], s[2], s[3], s[4], s[5]);
#endif
  g[0] = g[0].view(shape).to(x_dtype);
  if (g[1].defined()) g[1] = g[1].view(shape);
  return g;
}

class LayerNormFunction : public torch::autograd::Function<LayerNormFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                               int64_t grid_width, int64_t grid_scale) {
    return fused_forward(ctx, x, torch::Tensor(), weight, bias, eps,
                         TokenGrid{grid_width, grid_scale});
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto g = fused_backward(ctx, grads[0]);
    return {g[0], g[2], g[3], torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// x twice, the two gradients added here in this order (second onto first) rather than by autograd
// among x's other uses: the sums LayerNormAndInputFunction's kernel forms, so that they come out
// the same with the block recomputed (its input's other uses, a skip connection, then add to
// this sum outside the recomputation) and without.
class TwoUses : public torch::autograd::Function<TwoUses> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext*,
                                                const torch::Tensor& x) {
    return {x, x};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grads) {
    if (!grads[0].defined() || !grads[1].defined())
      return {grads[0].defined() ? grads[0] : grads[1]};
    return {grads[0] + grads[1]};
  }
};

// LayerNormFunction with x also returned (CUDA only): x's gradient through that second output is
// added to the normalisation's by the backward kernel, not by autograd in a pass of its own.
class LayerNormAndInputFunction : public torch::autograd::Function<LayerNormAndInputFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& x, const torch::Tensor& weight,
                                                const torch::Tensor& bias, double eps) {
    return {fused_forward(ctx, x, torch::Tensor(), weight, bias, eps), x};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    if (!grads[0].defined()) return {grads[1], torch::Tensor(), torch::Tensor(), torch::Tensor()};
    const auto g = fused_backward(ctx, grads[0], grads[1]);
    return {g[0], g[2], g[3], torch::Tensor()};
  }
};

class LayerNormGateFunction : public torch::autograd::Function<LayerNormGateFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& z, const torch::Tensor& weight,
                               const torch::Tensor& bias, double eps) {
    return fused_forward(ctx, x, z, weight, bias, eps);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto g = fused_backward(ctx, grads[0]);
    g.emplace_back();  // eps
    return g;
  }
};

}  // namespace

torch::Tensor layer_norm_composed(const torch::Tensor& x, const torch::Tensor& z,
                                  const torch::Tensor& weight, const torch::Tensor& bias,
                                  double eps) {
  check_shapes(x, z, weight, bias);
  auto out = torch::layer_norm(x, {x.size(-1)}, weight, bias, eps);
  return z.defined() ? out * torch::silu(z) : out;
}

torch::Tensor layer_norm(const torch::Tensor& x, const torch::nn::LayerNorm& norm) {
  const auto& o = norm->options;
  TORCH_CHECK(o.normalized_shape().size() == 1 && o.elementwise_affine(),
              "layer_norm: expects an affine LayerNorm over the last dimension");
  check_shapes(x, torch::Tensor(), norm->weight, norm->bias);
  if (fusable(x, torch::Tensor(), norm->weight, norm->bias))
    return LayerNormFunction::apply(x, norm->weight, norm->bias, o.eps(), 0, 0);
  return layer_norm_composed(x, torch::Tensor(), norm->weight, norm->bias, o.eps());
}

std::pair<torch::Tensor, torch::Tensor> layer_norm_and_input(const torch::Tensor& x,
                                                             const torch::nn::LayerNorm& norm) {
  const auto& o = norm->options;
  if (!x.is_cuda() || !o.elementwise_affine() || o.normalized_shape().size() != 1 ||
      !fusable(x, torch::Tensor(), norm->weight, norm->bias)) {
    const auto uses = TwoUses::apply(x);
    return {layer_norm(uses[0], norm), uses[1]};
  }
  check_shapes(x, torch::Tensor(), norm->weight, norm->bias);
  const auto out = LayerNormAndInputFunction::apply(x, norm->weight, norm->bias, o.eps());
  return {out[0], out[1]};
}

torch::Tensor layer_norm_to_grid(const torch::Tensor& tokens, const torch::nn::LayerNorm& norm) {
  TORCH_CHECK(tokens.dim() == 6 && tokens.size(3) == tokens.size(4),
              "layer_norm_to_grid: tokens must be (B, H, W, s, s, C), got ", tokens.sizes());
  const int64_t B = tokens.size(0), H = tokens.size(1), W = tokens.size(2);
  const int64_t s = tokens.size(3), C = tokens.size(5);
  check_shapes(tokens, torch::Tensor(), norm->weight, norm->bias);
  if (tokens.is_cuda() && fusable(tokens, torch::Tensor(), norm->weight, norm->bias))
    return LayerNormFunction::apply(tokens, norm->weight, norm->bias, norm->options.eps(), W, s);
  // The per-row normalisation commutes with moving the rows.
  return layer_norm(tokens, norm).permute({0, 1, 3, 2, 4, 5}).reshape({B, H * s, W * s, C});
}

torch::Tensor layer_norm_gate(const torch::Tensor& x, const torch::Tensor& z,
                              const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  check_shapes(x, z, weight, bias);
  if (fusable(x, z, weight, bias)) return LayerNormGateFunction::apply(x, z, weight, bias, eps);
  return layer_norm_composed(x, z, weight, bias, eps);
}

}  // namespace vmunet
