// Torch glue for the CUDA SS2D prologue: layouts, outputs, scratch and the stream. Shapes and
// dtypes are checked once by ss2d_prologue.cpp.
#ifdef VMUNET_CUDA

#include "model/ss2d_prologue_cuda.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "model/cuda_element_torch.h"
#include "model/ss2d_prologue_cuda_params.h"

namespace vmunet {
namespace {

Ss2dPrologueParams make_params(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias) {
  Ss2dPrologueParams p;
  p.batch = int(x.size(0));
  p.height = int(x.size(1));
  p.width = int(x.size(2));
  p.channels = int(x.size(3));
  p.dtype = cuda_dtype(x, "ss2d_prologue", "x");
  p.x = x.data_ptr();
  p.x_batch_stride = x.stride(0);
  p.x_row_stride = x.stride(1);
  p.x_col_stride = x.stride(2);
  p.weight = weight.data_ptr<float>();
  p.bias = bias.data_ptr<float>();
  return p;
}

}  // namespace

torch::Tensor ss2d_prologue_fwd_cuda(const torch::Tensor& x, const torch::Tensor& weight_in,
                                     const torch::Tensor& bias_in) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto weight = weight_in.contiguous(), bias = bias_in.contiguous();
  auto p = make_params(x, weight, bias);
  auto planes = torch::empty({x.size(0), 2, x.size(3), x.size(1) * x.size(2)}, x.options());
  p.planes = planes.data_ptr();
  if (planes.numel() > 0) ss2d_prologue_fwd(p, at::cuda::getCurrentCUDAStream().stream());
  return planes;
}

std::vector<torch::Tensor> ss2d_prologue_bwd_cuda(const torch::Tensor& dplanes_in,
                                                  const torch::Tensor& x,
                                                  const torch::Tensor& weight_in,
                                                  const torch::Tensor& bias_in,
                                                  const torch::Tensor& dx_into) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto weight = weight_in.contiguous(), bias = bias_in.contiguous();
  const auto dplanes = dplanes_in.to(x.scalar_type()).contiguous();
  auto p = make_params(x, weight, bias);
  auto dx = dx_into.defined() ? dx_into : torch::empty(x.sizes(), x.options());
  auto dweight = torch::empty_like(weight), dbias = torch::empty_like(bias);
  auto partials = torch::empty({ss2d_prologue_partial_floats(p)}, weight.options());
  p.dplanes = dplanes.data_ptr();
  p.dx = dx.data_ptr();
  p.dx_batch_stride = dx.stride(0);
  p.dx_row_stride = dx.stride(1);
  p.dx_col_stride = dx.stride(2);
  p.partials = partials.data_ptr<float>();
  p.dweight = dweight.data_ptr<float>();
  p.dbias = dbias.data_ptr<float>();
  if (x.numel() > 0) {
    ss2d_prologue_bwd(p, at::cuda::getCurrentCUDAStream().stream());
  } else {
    dweight.zero_();
    dbias.zero_();
  }
  return {dx, dweight, dbias};
}

}  // namespace vmunet

#endif  // VMUNET_CUDA
