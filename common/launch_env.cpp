#include "common/launch_env.h"

#include <algorithm>
#include <cstdlib>

namespace vmunet {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;  // SLURM_NTASKS_PER_NODE may read "2(x3)": the leading count
}

}  // namespace

bool launched_under_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

int local_ranks_from_env() {
  int local_ranks = env_int("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (local_ranks <= 0) local_ranks = env_int("SLURM_NTASKS_PER_NODE");
  return std::max(local_ranks, 1);
}

}  // namespace vmunet
