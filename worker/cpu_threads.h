// LibTorch's intra-op thread count on the CPU. LibTorch 1.13 (OpenMP) defaults to half the
// logical CPUs, assuming hyper-threads: one thread on a 2-core VM. Unless the user chose with
// OMP_NUM_THREADS (or MKL_NUM_THREADS), vmunet uses every CPU it may run on, shared among the
// ranks of its host when a launcher started several unbound.
#pragma once

namespace vmunet {

// `cpus`: the CPUs this process may run on; `cpus_on_host`: all of the host's; `local_ranks`:
// processes of this job on the host. Bound (cpus < cpus_on_host): the binding's CPUs; else
// cpus / local_ranks; at least 1.
int default_cpu_threads(int cpus, int cpus_on_host, int local_ranks);

// Applies default_cpu_threads() to this process (its affinity mask, the host, and
// OMPI_COMM_WORLD_LOCAL_SIZE or SLURM_NTASKS_PER_NODE) where neither OMP_NUM_THREADS nor
// MKL_NUM_THREADS is set; returns the intra-op thread count in use.
int configure_cpu_threads();

}  // namespace vmunet
