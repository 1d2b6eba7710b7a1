// MPI: the launcher's world and the groups of ranks that train one run (DESIGN §6).
#pragma once

#include <memory>

#include "worker/communicator.h"

namespace vmunet {

// True when this process was started by mpirun/srun (so MPI must be initialised).
bool launched_under_mpi();

// Initialises MPI on construction (thread level FUNNELED) and finalises it on destruction; while it
// lives, abort_all() ends every rank of the job (for a fatal error on one of them).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  static void abort_all(int code);
};

// A communicator over MPI_COMM_WORLD; CPU tensors (device tensors are staged through the host).
std::unique_ptr<Communicator> make_mpi_world_communicator();

// The world's communicator for a run on `device` ("auto", "cpu" or "cuda", as train.device):
// NCCL when the ranks train on GPUs and NCCL was built in, MPI otherwise.
std::unique_ptr<Communicator> make_world_communicator(const std::string& device);

}  // namespace vmunet
