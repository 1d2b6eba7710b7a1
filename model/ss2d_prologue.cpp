#include "model/ss2d_prologue.h"

#include <torch/torch.h>

#include "model/depthwise_conv_silu.h"
#ifdef VMUNET_CUDA
#include "model/ss2d_prologue_cuda.h"
#endif

namespace vmunet {
namespace {

#ifdef VMUNET_CUDA
// What the CUDA kernels take: SS2D's 3×3 convolution, float32 or bfloat16 activations, float32
// parameters, channels contiguous.
bool fusable(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return x.is_cuda() && x.dim() == 4 && x.stride(3) == 1 &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16) &&
         weight.dim() == 4 && weight.size(0) == x.size(3) && weight.size(1) == 1 &&
         weight.size(2) == 3 && weight.size(3) == 3 && weight.scalar_type() == torch::kFloat &&
         bias.dim() == 1 && bias.size(0) == x.size(3) && bias.scalar_type() == torch::kFloat;
}

class Ss2dPrologueFunction : public torch::autograd::Function<Ss2dPrologueFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight, bias});
    return ss2d_prologue_fwd_cuda(x, weight, bias);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    auto g = ss2d_prologue_bwd_cuda(grads[0], s[0], s[1], s[2]);
    return {g[0], g[1], g[2]};
  }
};

// xz's gradient with dz as its second half: dz's own buffer where dz already is the second half
// of a tensor laid out as xz (the gated LayerNorm's backward writes it so, layer_norm_cuda.cpp),
// a new one with dz copied in otherwise. dz is this node's alone (autograd hands each node its
// own), so the rest of its buffer is free.
torch::Tensor gradient_around_gate(const torch::Tensor& dz, const torch::Tensor& xz) {
  const int64_t C = xz.size(3) / 2;
  const bool in_place =
      dz.defined() && dz.scalar_type() == xz.scalar_type() && dz.strides() == xz.strides() &&
      dz.storage_offset() >= C &&
      int64_t(dz.storage().nbytes()) >= (dz.storage_offset() - C + xz.numel()) * dz.element_size();
  if (in_place) return dz.as_strided(xz.sizes(), xz.strides(), dz.storage_offset() - C);
  auto dxz = torch::empty_like(xz, torch::MemoryFormat::Contiguous);
  if (dz.defined())
    dxz.narrow(3, C, C).copy_(dz);
  else
    dxz.narrow(3, C, C).zero_();
  return dxz;
}

// The prologue of xz's first half and its second half passed through (ss2d_prologue_and_gate).
class Ss2dPrologueAndGateFunction : public torch::autograd::Function<Ss2dPrologueAndGateFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& xz,
                                                const torch::Tensor& weight,
                                                const torch::Tensor& bias) {
    const int64_t C = xz.size(3) / 2;
    ctx->save_for_backward({xz, weight, bias});
    return {ss2d_prologue_fwd_cuda(xz.narrow(3, 0, C), weight, bias), xz.narrow(3, C, C)};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto& xz = s[0];
    const int64_t C = xz.size(3) / 2;
    auto dxz = gradient_around_gate(grads[1], xz);
    const auto dx = dxz.narrow(3, 0, C);
    if (!grads[0].defined()) {
      dx.zero_();
      return {dxz, torch::Tensor(), torch::Tensor()};
    }
    const auto g = ss2d_prologue_bwd_cuda(grads[0], xz.narrow(3, 0, C), s[1], s[2], dx);
    return {dxz, g[1], g[2]};
  }
};
#endif

}  // namespace

std::pair<torch::Tensor, torch::Tensor> ss2d_prologue_and_gate(const torch::Tensor& xz,
                                                               const torch::Tensor& weight,
                                                               const torch::Tensor& bias) {
  TORCH_CHECK(xz.dim() == 4 && xz.size(3) % 2 == 0,
              "ss2d_prologue_and_gate: xz must be (B, H, W, 2C), got ", xz.sizes());
  const auto chunks = xz.chunk(2, 3);
#ifdef VMUNET_CUDA
  if (xz.is_contiguous() && fusable(chunks[0], weight, bias)) {
    const auto out = Ss2dPrologueAndGateFunction::apply(xz, weight, bias);
    return {out[0], out[1]};
  }
#endif
  return {ss2d_prologue(chunks[0], weight, bias), chunks[1]};
}

torch::Tensor scan_planes(const torch::Tensor& u) {
  const int64_t B = u.size(0), C = u.size(1), L = u.size(2) * u.size(3);
  return torch::stack({u.reshape({B, C, L}), u.transpose(2, 3).reshape({B, C, L})}, 1);
}

torch::Tensor ss2d_prologue(const torch::Tensor& x, const torch::Tensor& weight,
                            const torch::Tensor& bias) {
#ifdef VMUNET_CUDA
  if (fusable(x, weight, bias)) return Ss2dPrologueFunction::apply(x, weight, bias);
#endif
  const auto dtype = x.scalar_type();
  if (x.is_cpu() && (dtype == torch::kFloat || dtype == torch::kDouble))
    return scan_planes(depthwise_conv_silu(x, weight, bias));
  const int64_t pad = weight.size(2) / 2;
  return scan_planes(torch::silu(
      torch::conv2d(x.permute({0, 3, 1, 2}).contiguous(), weight, bias, 1, pad, 1, x.size(3))));
}

}  // namespace vmunet
