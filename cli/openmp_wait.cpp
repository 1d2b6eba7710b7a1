#include "cli/openmp_wait.h"

#include <unistd.h>

#include <cstdlib>

#include "common/launch_env.h"

namespace vmunet::cli {

void ensure_openmp_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || local_ranks_from_env() < 2) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
}

}  // namespace vmunet::cli
