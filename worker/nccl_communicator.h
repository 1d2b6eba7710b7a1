// NCCL between the GPUs of a run's ranks (one GPU per rank), bootstrapped over their MPI group.
// Collectives run on the current CUDA stream, so they order with the training step's kernels and
// never stall the host.
#pragma once

#include <mpi.h>

#include <memory>

#include "worker/communicator.h"

namespace vmunet {

// Collective over the ranks of `comm` (which must outlive it); each rank's tensors live on its
// `device_index`.
std::unique_ptr<Communicator> make_nccl_communicator(MPI_Comm comm, int device_index);

}  // namespace vmunet
