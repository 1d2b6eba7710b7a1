// Torch glue for the CUDA SS2D direction merge: layouts, outputs and the stream. Shapes are
// checked once by ss2d_epilogue.cpp.
#ifdef VMUNET_CUDA

#include "model/ss2d_epilogue_cuda.h"

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "model/cuda_element_torch.h"
#include "model/ss2d_epilogue_cuda_params.h"

namespace vmunet {

torch::Tensor merge_directions_cuda(const torch::Tensor& ys_in, int64_t height, int64_t width) {
  const c10::cuda::CUDAGuard guard(ys_in.device());
  const auto ys = ys_in.contiguous();
  Ss2dDirectionsParams p;
  p.batch = int(ys.size(0));
  p.channels = int(ys.size(2));
  p.height = int(height);
  p.width = int(width);
  p.dtype = cuda_dtype(ys, "ss2d_epilogue", "ys");
  auto merged =
      torch::empty({ys.size(0), height, width, ys.size(2)}, ys.options().dtype(torch::kFloat));
  p.ys = ys.data_ptr();
  p.merged = merged.data_ptr<float>();
  if (merged.numel() > 0) ss2d_merge_directions(p, at::cuda::getCurrentCUDAStream().stream());
  return merged;
}

torch::Tensor scatter_directions_cuda(const torch::Tensor& dmerged_in, torch::ScalarType dtype) {
  const c10::cuda::CUDAGuard guard(dmerged_in.device());
  const auto dmerged = dmerged_in.to(torch::kFloat).contiguous();
  Ss2dDirectionsParams p;
  p.batch = int(dmerged.size(0));
  p.height = int(dmerged.size(1));
  p.width = int(dmerged.size(2));
  p.channels = int(dmerged.size(3));
  auto dys = torch::empty({dmerged.size(0), 4, dmerged.size(3), dmerged.size(1) * dmerged.size(2)},
                          dmerged.options().dtype(dtype));
  p.dtype = cuda_dtype(dys, "ss2d_epilogue", "dys");
  p.dmerged = dmerged.data_ptr<float>();
  p.dys = dys.data_ptr();
  if (dys.numel() > 0) ss2d_scatter_directions(p, at::cuda::getCurrentCUDAStream().stream());
  return dys;
}

}  // namespace vmunet

#endif  // VMUNET_CUDA
