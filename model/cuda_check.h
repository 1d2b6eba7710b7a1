// VMUNET_CUDA_CHECK(call, action): throws vmunet::Error naming file:line, the action and CUDA's
// message when a CUDA runtime call fails. Usable from .cu and plain C++ sources.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "common/error.h"

#define VMUNET_CUDA_CHECK(call, action)                                      \
  do {                                                                       \
    const cudaError_t vmunet_cuda_status_ = (call);                          \
    if (vmunet_cuda_status_ != cudaSuccess)                                  \
      ::vmunet::fail_at(__FILE__, __LINE__,                                  \
                        std::string("CUDA error while ") + (action) + ": " + \
                            cudaGetErrorString(vmunet_cuda_status_));        \
  } while (0)
