#include "worker/device.h"

#include <torch/torch.h>
#ifdef VMUNET_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <cstdlib>

#include "common/error.h"
#ifdef VMUNET_MPI
#include "worker/mpi_communicator.h"
#endif

namespace vmunet {

int local_rank() {
  for (const char* v : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"})
    if (const char* value = std::getenv(v)) return std::atoi(value);
#ifdef VMUNET_MPI
  if (MpiSession::node_rank() >= 0) return MpiSession::node_rank();
#endif
  return 0;
}

torch::Device choose_device(const std::string& want, int local_rank) {
  const bool cuda = torch::cuda::is_available();
  if (want == "cuda" && !cuda)
    throw Error("train.device is cuda, but this build sees no CUDA device");
  if (want == "cpu" || !cuda) return torch::kCPU;
  const int index = local_rank % static_cast<int>(torch::cuda::device_count());
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
