// MPI: the launcher's world and the groups of ranks that train one run (DESIGN §6).
#pragma once

#include <mpi.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "common/launch_env.h"
#include "worker/communicator.h"

namespace vmunet {

// Initialises MPI on construction and finalises it on destruction; while it lives, abort_all()
// ends every rank of the job (for a fatal error on one of them). It asks for MPI_THREAD_MULTIPLE
// (the sweep coordinator runs in a thread of rank 0) and records what the library provides.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  static void abort_all(int code);
  // The thread level MPI provided (MPI_THREAD_SINGLE ... MPI_THREAD_MULTIPLE); -1 before MPI_Init.
  static int thread_level();
  // This process's rank and the job's size in MPI_COMM_WORLD; 0 and 1 when MPI is not running.
  static int world_rank();
  static int world_size();
  // The rank among the processes of this node (an MPI_COMM_TYPE_SHARED split made at start-up);
  // -1 before MPI_Init. worker/device.h's local_rank() prefers the launcher's variables.
  static int node_rank();
};

// A communicator over the ranks of `comm` (which must outlive it, and which it does not free);
// CPU tensors (device tensors are staged through the host).
std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm comm);

// The communicator for the ranks of `comm` training one run on `device` (each rank's own, see
// worker/device.h): NCCL when it is a GPU and NCCL was built in, MPI otherwise. Collective over
// `comm`, which must outlive it.
std::unique_ptr<Communicator> make_group_communicator(MPI_Comm comm, const torch::Device& device);

// make_group_communicator over MPI_COMM_WORLD, each rank on the device chosen from `device`
// ("auto", "cpu" or "cuda", as train.device) and its local rank.
std::unique_ptr<Communicator> make_world_communicator(const std::string& device);

}  // namespace vmunet
