#include "model/ss2d_direction_params.h"

#include <torch/torch.h>

#ifdef VMUNET_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "model/ss2d_direction_params_cuda.h"
#endif

namespace vmunet {

torch::Tensor directions_by_group(const torch::Tensor& t) {
  auto split = t.sizes().vec();
  split[0] = 2;
  split.insert(split.begin(), 2);
  return t.view(split).transpose(0, 1).reshape(t.sizes());
}

namespace {

#ifdef VMUNET_CUDA
// The four tensors through the kernel, each (4, ...) viewed flat; tensor 0 transformed as
// DirectionParamsCuda says.
torch::autograd::variable_list permute_cuda(const torch::autograd::variable_list& src,
                                            bool negate_exp, const torch::Tensor& scale) {
  const c10::cuda::CUDAGuard guard(src[0].device());
  DirectionParamsCuda p;
  torch::autograd::variable_list in, out;
  for (int t = 0; t < kDirectionTensors; ++t) {
    in.push_back(src[t].to(torch::kFloat).contiguous());
    out.push_back(torch::empty_like(in[t]));
    p.src[t] = in[t].data_ptr<float>();
    p.dst[t] = out[t].data_ptr<float>();
    p.per_direction[t] = in[t].numel() / 4;
  }
  p.negate_exp = negate_exp;
  const auto scale_c = scale.defined() ? scale.contiguous() : scale;
  p.scale = scale_c.defined() ? scale_c.data_ptr<float>() : nullptr;
  ss2d_direction_params_cuda(p, at::cuda::getCurrentCUDAStream().stream());
  return out;
}

class DirectionParamsFunction : public torch::autograd::Function<DirectionParamsFunction> {
 public:
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx,
                                                const torch::Tensor& A_logs,
                                                const torch::Tensor& dt_w, const torch::Tensor& D,
                                                const torch::Tensor& bias) {
    auto out = permute_cuda({A_logs, dt_w, D, bias}, true, {});
    ctx->save_for_backward({out[0]});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return permute_cuda(grads, false, ctx->get_saved_variables()[0]);
  }
};
#endif

}  // namespace

ScanDirectionParams ss2d_direction_params(const torch::Tensor& A_logs,
                                          const torch::Tensor& dt_projs_weight,
                                          const torch::Tensor& Ds,
                                          const torch::Tensor& dt_projs_bias) {
  const int64_t D = dt_projs_weight.size(1), N = A_logs.size(1);
#ifdef VMUNET_CUDA
  const bool cuda =
      A_logs.is_cuda() && dt_projs_weight.is_cuda() && Ds.is_cuda() && dt_projs_bias.is_cuda();
  const bool f32 =
      A_logs.scalar_type() == torch::kFloat && dt_projs_weight.scalar_type() == torch::kFloat &&
      Ds.scalar_type() == torch::kFloat && dt_projs_bias.scalar_type() == torch::kFloat;
  if (cuda && f32) {
    auto g = DirectionParamsFunction::apply(A_logs, dt_projs_weight, Ds, dt_projs_bias);
    return {g[0], g[1], g[2], g[3].view({4 * D})};
  }
#endif
  return {-torch::exp(directions_by_group(A_logs.view({4, D, N})).view({4 * D, N})),
          directions_by_group(dt_projs_weight), directions_by_group(Ds.view({4, D})).view({4 * D}),
          directions_by_group(dt_projs_bias).view({4 * D})};
}

}  // namespace vmunet
