#include "model/ss2d_epilogue.h"

#include <torch/torch.h>

#ifdef VMUNET_CUDA
#include "model/ss2d_epilogue_cuda.h"
#endif

namespace vmunet {
namespace {

void check_shapes(const torch::Tensor& ys, const torch::Tensor& z, const torch::Tensor& weight,
                  const torch::Tensor& bias) {
  TORCH_CHECK(z.dim() == 4, "ss2d_epilogue: z must be (B, H, W, D), got ", z.sizes());
  const int64_t B = z.size(0), H = z.size(1), W = z.size(2), D = z.size(3);
  TORCH_CHECK(
      ys.dim() == 4 && ys.size(0) == B && ys.size(1) == 4 && ys.size(2) == D && ys.size(3) == H * W,
      "ss2d_epilogue: ys must be (B, 4, D, H*W) = (", B, ", 4, ", D, ", ", H * W, "), got ",
      ys.sizes());
  TORCH_CHECK(weight.dim() == 1 && weight.size(0) == D && bias.dim() == 1 && bias.size(0) == D,
              "ss2d_epilogue: weight and bias must be (", D, ")");
}

#ifdef VMUNET_CUDA
bool fusable(const torch::Tensor& ys, const torch::Tensor& z, const torch::Tensor& weight,
             const torch::Tensor& bias) {
  auto float_or_bf16 = [](const torch::Tensor& t) {
    return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kBFloat16;
  };
  return ys.is_cuda() && z.device() == ys.device() && weight.device() == ys.device() &&
         bias.device() == ys.device() && float_or_bf16(ys) && float_or_bf16(z) &&
         weight.scalar_type() == torch::kFloat && bias.scalar_type() == torch::kFloat &&
         z.stride(3) == 1;
}

class Ss2dEpilogueFunction : public torch::autograd::Function<Ss2dEpilogueFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& ys,
                               const torch::Tensor& z, const torch::Tensor& weight,
                               const torch::Tensor& bias, double eps) {
    auto f = ss2d_epilogue_fwd_cuda(ys, z, weight, bias, eps);
    ctx->save_for_backward({f.merged, f.mean, f.rstd, z, weight, bias});
    ctx->saved_data["ys_dtype"] = static_cast<int64_t>(ys.scalar_type());
    return f.out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto s = ctx->get_saved_variables();
    const auto ys_dtype = static_cast<torch::ScalarType>(ctx->saved_data["ys_dtype"].toInt());
    auto g = ss2d_epilogue_bwd_cuda(grads[0], {torch::Tensor(), s[0], s[1], s[2]}, s[3], s[4], s[5],
                                    ys_dtype);
    g.emplace_back();  // eps
    return g;
  }
};
#endif

}  // namespace

torch::Tensor merge_directions(const torch::Tensor& ys, int64_t height, int64_t width) {
  const int64_t B = ys.size(0), D = ys.size(2);
  const auto planes = ys.view({B, 2, 2, D, height * width}).sum(2);  // both directions per plane
  return planes.select(1, 0).view({B, D, height, width}) +
         planes.select(1, 1).view({B, D, width, height}).transpose(2, 3);
}

torch::Tensor ss2d_epilogue_composed(const torch::Tensor& ys, const torch::Tensor& z,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     double eps) {
  check_shapes(ys, z, weight, bias);
  const auto merged = merge_directions(ys, z.size(1), z.size(2)).permute({0, 2, 3, 1});
  return torch::layer_norm(merged, {z.size(3)}, weight, bias, eps) * torch::silu(z);
}

torch::Tensor ss2d_epilogue(const torch::Tensor& ys, const torch::Tensor& z,
                            const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  check_shapes(ys, z, weight, bias);
#ifdef VMUNET_CUDA
  if (fusable(ys, z, weight, bias)) return Ss2dEpilogueFunction::apply(ys, z, weight, bias, eps);
#endif
  return ss2d_epilogue_composed(ys, z, weight, bias, eps);
}

}  // namespace vmunet
