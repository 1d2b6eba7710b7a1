// The sweep launcher's run executor that trains (launcher/run_executor.h): each assignment is a
// train_run on the group's ranks, data-parallel over the group's communicator (NCCL among GPUs,
// MPI on CPUs), each rank on the GPU of its local rank or else the CPU.
#pragma once

#include "launcher/run_executor.h"

namespace vmunet {

ExecutorFactory train_executor_factory();

}  // namespace vmunet
