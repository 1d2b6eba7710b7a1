// NCCL between the GPUs of a run's ranks (one GPU per rank), bootstrapped over MPI_COMM_WORLD.
// Collectives run on the current CUDA stream, so they order with the training step's kernels and
// never stall the host.
#pragma once

#include <memory>

#include "worker/communicator.h"

namespace vmunet {

// Collective over all MPI ranks; each rank's tensors live on `device_index`.
std::unique_ptr<Communicator> make_nccl_world_communicator(int device_index);

}  // namespace vmunet
