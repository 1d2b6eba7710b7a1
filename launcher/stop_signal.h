// The launcher's stop request. SIGTERM and SIGUSR1 (Slurm's preemption and time-limit warnings)
// and SIGINT set one flag; nothing else happens in the handler. Every group then checkpoints its
// run at the next step boundary (TrainRequest::stop), records it preempted, and the job exits
// kSweepInterrupted. A second SIGINT kills the process (the default action comes back).
//
// Under Open MPI 4.1's mpirun (measured on Debian 12): SIGUSR1 (and SIGUSR2) sent to mpirun is
// forwarded to every rank at once and nothing else happens, so the ranks stop cleanly however long
// their checkpoint takes, and mpirun exits with the ranks' code (kSweepInterrupted). SIGTERM (and
// SIGINT) make mpirun end the job: it sends SIGCONT to the ranks, blocks for
// odls_base_sigkill_timeout seconds (default 1), sends SIGTERM, blocks as long again, sends
// SIGKILL and exits 1 whatever the ranks return. So the ranks see the stop only `timeout` seconds
// after mpirun got it and have `timeout` seconds to checkpoint; the job ends 2 x `timeout` after
// the signal. The default second fits a step and a checkpoint of small runs only: raise it with
// `mpirun --mca odls_base_sigkill_timeout 30` (or OMPI_MCA_odls_base_sigkill_timeout=30; a rank
// cannot set it for mpirun), or signal with SIGUSR1. Slurm's srun signals the ranks directly.
// A rank killed before it checkpoints leaves its run `running`: the relaunch resumes it from its
// newest checkpoint.
#pragma once

#include <atomic>

namespace vmunet {

// Installs the handlers (once) and returns the flag they set.
const std::atomic<bool>& install_stop_handlers();

// The signal that set the flag, or 0.
int stop_signal();

}  // namespace vmunet
