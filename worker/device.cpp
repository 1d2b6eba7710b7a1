#include "worker/device.h"

#include <torch/torch.h>
#ifdef VMUNET_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <cstdlib>

#include "common/error.h"

namespace vmunet {

torch::Device pick_device(const std::string& requested, int rank) {
  const bool cuda = torch::cuda::is_available();
  if (requested == "cuda" && !cuda)
    throw Error("train.device is cuda, but this build sees no CUDA device");
  if (requested == "cpu" || !cuda) return torch::kCPU;
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  const int index =
      (local ? std::atoi(local) : rank) % static_cast<int>(torch::cuda::device_count());
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void set_precision(Precision precision, const torch::Device& device) {
  if (precision == Precision::bf16 && !device.is_cuda())
    throw Error("train.precision bf16: needs a CUDA device (this run is on " + device.str() +
                "); use fp32 on the CPU");
  const bool tf32 = precision == Precision::tf32;
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

std::string device_name(const torch::Device& device) {
#ifdef VMUNET_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.index())->name;
#endif
  return device.str();
}

}  // namespace vmunet
