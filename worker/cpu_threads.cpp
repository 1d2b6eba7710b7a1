#include "worker/cpu_threads.h"

#include <ATen/Parallel.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/launch_env.h"

namespace vmunet {
namespace {

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

}  // namespace

int default_cpu_threads(int cpus, int cpus_on_host, int local_ranks) {
  if (cpus <= 0) cpus = cpus_on_host;
  if (cpus >= cpus_on_host && local_ranks > 1) cpus /= local_ranks;
  return std::max(cpus, 1);
}

int configure_cpu_threads() {
  if (!std::getenv("OMP_NUM_THREADS") && !std::getenv("MKL_NUM_THREADS"))
    at::set_num_threads(default_cpu_threads(
        affinity_cpus(), int(std::thread::hardware_concurrency()), local_ranks_from_env()));
  return at::get_num_threads();
}

}  // namespace vmunet
