// The CudaDtype of a tensor, for the torch glue of the CUDA kernels.
#pragma once

#include <torch/types.h>

#include "model/cuda_element.h"

namespace vmunet {

// `op` and `name` only word the error for a dtype the kernels do not take.
inline CudaDtype cuda_dtype(const torch::Tensor& t, const char* op, const char* name) {
  if (t.scalar_type() == torch::kFloat) return CudaDtype::kFloat32;
  TORCH_CHECK(t.scalar_type() == torch::kBFloat16, op, " (CUDA): ", name,
              " must be float32 or bfloat16, found ", t.scalar_type());
  return CudaDtype::kBFloat16;
}

}  // namespace vmunet
