#include "model/ss2d_epilogue.h"

#include <torch/torch.h>

#include "model/layer_norm.h"
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
// The merge alone: its backward hands each direction the gradient at its plane's index.
class MergeDirectionsFunction : public torch::autograd::Function<MergeDirectionsFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& ys,
                               int64_t height, int64_t width) {
    ctx->saved_data["ys_dtype"] = static_cast<int64_t>(ys.scalar_type());
    return merge_directions_cuda(ys, height, width);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto dtype = static_cast<torch::ScalarType>(ctx->saved_data["ys_dtype"].toInt());
    return {scatter_directions_cuda(grads[0], dtype), torch::Tensor(), torch::Tensor()};
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
  return layer_norm_composed(merged, z, weight, bias, eps);
}

torch::Tensor ss2d_epilogue(const torch::Tensor& ys, const torch::Tensor& z,
                            const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  check_shapes(ys, z, weight, bias);
#ifdef VMUNET_CUDA
  if (ys.is_cuda() && (ys.scalar_type() == torch::kFloat || ys.scalar_type() == torch::kBFloat16)) {
    const auto merged = MergeDirectionsFunction::apply(ys, z.size(1), z.size(2));
    return layer_norm_gate(merged, z, weight, bias, eps);
  }
#endif
  // Elsewhere the merge is LibTorch's ops and the LayerNorm + gate the CPU kernel where it applies.
  const auto merged = merge_directions(ys, z.size(1), z.size(2)).permute({0, 2, 3, 1});
  return layer_norm_gate(merged, z, weight, bias, eps);
}

}  // namespace vmunet
