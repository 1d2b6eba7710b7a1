// Torch glue for the CUDA SS2D epilogue: layouts, outputs, scratch and the stream. Shapes and
// dtypes are checked once by ss2d_epilogue.cpp.
#ifdef VMUNET_CUDA

#include "model/ss2d_epilogue_cuda.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "model/cuda_element_torch.h"
#include "model/ss2d_epilogue_cuda_params.h"

namespace vmunet {
namespace {

// z is read in place when its channels are contiguous and its positions evenly spaced, as they
// are for a chunk of in_proj's output.
torch::Tensor readable_z(const torch::Tensor& z) {
  const bool even = z.stride(3) == 1 && z.stride(1) == z.size(2) * z.stride(2);
  return even ? z : z.contiguous();
}

Ss2dEpilogueParams make_params(const torch::Tensor& z, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::ScalarType ys_dtype) {
  Ss2dEpilogueParams p;
  p.batch = int(z.size(0));
  p.height = int(z.size(1));
  p.width = int(z.size(2));
  p.channels = int(z.size(3));
  p.y_dtype = ys_dtype == torch::kBFloat16 ? CudaDtype::kBFloat16 : CudaDtype::kFloat32;
  p.z_dtype = cuda_dtype(z, "ss2d_epilogue", "z");
  p.z_batch_stride = z.stride(0);
  p.z_position_stride = z.stride(2);
  p.z = z.data_ptr();
  p.weight = weight.data_ptr<float>();
  p.bias = bias.data_ptr<float>();
  return p;
}

}  // namespace

Ss2dEpilogueForward ss2d_epilogue_fwd_cuda(const torch::Tensor& ys, const torch::Tensor& z_in,
                                           const torch::Tensor& weight, const torch::Tensor& bias,
                                           double eps) {
  const c10::cuda::CUDAGuard guard(ys.device());
  cuda_dtype(ys, "ss2d_epilogue", "ys");
  const auto ys_c = ys.contiguous();
  const auto z = readable_z(z_in);
  const auto w = weight.contiguous(), b = bias.contiguous();
  auto p = make_params(z, w, b, ys.scalar_type());
  p.eps = float(eps);
  const auto f32 = z.options().dtype(torch::kFloat);
  const auto sizes = z.sizes();
  Ss2dEpilogueForward f{torch::empty(sizes, ys.options()), torch::empty(sizes, f32),
                        torch::empty({p.batch, p.height, p.width}, f32),
                        torch::empty({p.batch, p.height, p.width}, f32)};
  p.ys = ys_c.data_ptr();
  p.out = f.out.data_ptr();
  p.merged = f.merged.data_ptr<float>();
  p.mean = f.mean.data_ptr<float>();
  p.rstd = f.rstd.data_ptr<float>();
  ss2d_epilogue_fwd(p, at::cuda::getCurrentCUDAStream().stream());
  return f;
}

std::vector<torch::Tensor> ss2d_epilogue_bwd_cuda(
    const torch::Tensor& dout_in, const Ss2dEpilogueForward& saved, const torch::Tensor& z_in,
    const torch::Tensor& weight, const torch::Tensor& bias, torch::ScalarType ys_dtype) {
  const c10::cuda::CUDAGuard guard(z_in.device());
  const auto z = readable_z(z_in);
  const auto w = weight.contiguous(), b = bias.contiguous();
  auto p = make_params(z, w, b, ys_dtype);
  const auto dout = dout_in.to(ys_dtype).contiguous();
  const auto f32 = z.options().dtype(torch::kFloat);
  const int64_t L = int64_t(p.height) * p.width;
  auto dys = torch::empty({p.batch, 4, p.channels, L}, z.options().dtype(ys_dtype));
  auto dz = torch::empty(z.sizes(), z.options());
  auto dweight = torch::empty({p.channels}, f32), dbias = torch::empty({p.channels}, f32);
  auto dmerged = torch::empty(z.sizes(), f32);
  auto partials = torch::empty({ss2d_epilogue_partial_floats(p)}, f32);
  p.merged = saved.merged.data_ptr<float>();
  p.mean = saved.mean.data_ptr<float>();
  p.rstd = saved.rstd.data_ptr<float>();
  p.dout = dout.data_ptr();
  p.dys = dys.data_ptr();
  p.dz = dz.data_ptr();
  p.dmerged = dmerged.data_ptr<float>();
  p.dweight = dweight.data_ptr<float>();
  p.dbias = dbias.data_ptr<float>();
  p.partials = partials.data_ptr<float>();
  ss2d_epilogue_bwd(p, at::cuda::getCurrentCUDAStream().stream());
  return {dys, dz, dweight, dbias};
}

}  // namespace vmunet

#endif  // VMUNET_CUDA
