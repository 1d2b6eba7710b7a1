// Torch glue for the CUDA LayerNorm: layouts, outputs, scratch and the stream. Shapes and dtypes
// are checked once by layer_norm.cpp.
#ifdef VMUNET_CUDA

#include "model/layer_norm_kernels.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include <limits>

#include "model/cuda_element_torch.h"
#include "model/layer_norm_cuda_params.h"

namespace vmunet {
namespace {

LayerNormParams make_params(const torch::Tensor& x, const torch::Tensor& z,
                            const torch::Tensor& weight, const torch::Tensor& bias,
                            TokenGrid grid) {
  LayerNormParams p;
  p.rows = x.size(0);
  p.channels = int(x.size(1));
  if (grid.scale > 0) {
    TORCH_CHECK(!z.defined() && p.rows <= std::numeric_limits<int32_t>::max() &&
                    p.rows % (grid.width * grid.scale * grid.scale) == 0,
                "layer_norm: a token grid needs no gate, whole grids and rows in 32 bits");
    p.grid_width = int(grid.width);
    p.grid_scale = int(grid.scale);
  }
  p.x_dtype = cuda_dtype(x, "layer_norm", "x");
  p.x = x.data_ptr();
  if (z.defined()) {
    p.dtype = cuda_dtype(z, "layer_norm", "z");
    p.z = z.data_ptr();
    p.z_row_stride = z.stride(0);
  }
  p.weight = weight.data_ptr<float>();
  p.bias = bias.data_ptr<float>();
  return p;
}

// z's gradient at z's place in rows as far apart as z's. For the gate half of SS2D's in_proj
// output that is the half of a buffer as wide as the whole output, whose other half
// ss2d_prologue_and_gate fills with the first half's gradient: one tensor for in_proj's backward,
// where autograd would concatenate the two halves' gradients in a pass of its own.
torch::Tensor gradient_like(const torch::Tensor& z) {
  const int64_t rows = z.size(0), C = z.size(1), row_stride = z.stride(0);
  const int64_t column = row_stride > C ? z.storage_offset() % row_stride : 0;
  if (row_stride <= C || column + C > row_stride) return torch::empty({rows, C}, z.options());
  return torch::empty({rows, row_stride}, z.options()).narrow(1, column, C);
}

}  // namespace

LayerNormForward layer_norm_fwd_cuda(const torch::Tensor& x, const torch::Tensor& z,
                                     const torch::Tensor& weight, const torch::Tensor& bias,
                                     double eps, TokenGrid grid) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto w = weight.contiguous(), b = bias.contiguous();
  auto p = make_params(x, z, w, b, grid);
  p.eps = float(eps);
  const auto f32 = x.options().dtype(torch::kFloat);
  LayerNormForward f{torch::empty(x.sizes(), z.defined() ? z.options() : f32),
                     torch::empty({p.rows}, f32), torch::empty({p.rows}, f32)};
  p.out = f.out.data_ptr();
  p.mean = f.mean.data_ptr<float>();
  p.rstd = f.rstd.data_ptr<float>();
  layer_norm_fwd(p, at::cuda::getCurrentCUDAStream().stream());
  return f;
}

std::vector<torch::Tensor> layer_norm_bwd_cuda(const torch::Tensor& dout_in, const torch::Tensor& x,
                                               const torch::Tensor& mean, const torch::Tensor& rstd,
                                               const torch::Tensor& z, const torch::Tensor& weight,
                                               const torch::Tensor& bias, TokenGrid grid,
                                               const torch::Tensor& dx_add) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto w = weight.contiguous(), b = bias.contiguous();
  auto p = make_params(x, z, w, b, grid);
  const auto f32 = x.options().dtype(torch::kFloat);
  const auto dout = dout_in.to(z.defined() ? z.scalar_type() : torch::kFloat).contiguous();
  auto dx = torch::empty(x.sizes(), x.options());
  auto dz = z.defined() ? gradient_like(z) : torch::Tensor();
  auto dweight = torch::empty({p.channels}, f32), dbias = torch::empty({p.channels}, f32);
  auto partials = torch::empty({layer_norm_partial_floats(p)}, f32);
  p.mean = mean.data_ptr<float>();
  p.rstd = rstd.data_ptr<float>();
  p.dout = dout.data_ptr();
  p.dx = dx.data_ptr();
  if (dx_add.defined()) p.dx_add = dx_add.data_ptr();
  if (dz.defined()) {
    p.dz = dz.data_ptr();
    p.dz_row_stride = dz.stride(0);
  }
  p.dweight = dweight.data_ptr<float>();
  p.dbias = dbias.data_ptr<float>();
  p.partials = partials.data_ptr<float>();
  layer_norm_bwd(p, at::cuda::getCurrentCUDAStream().stream());
  return {dx, dz, dweight, dbias};
}

}  // namespace vmunet

#endif  // VMUNET_CUDA
