// One rank's part of a sweep: its group's leader asks the coordinator for a run, passes the
// assignment to the group's other ranks, and all of them run it with the executor, until the
// coordinator has no more work (or a stop was requested). While a run trains, the leader's
// heartbeat thread tells the coordinator the group is alive.
#pragma once

#include <mpi.h>

#include <atomic>

#include "launcher/coordinator_link.h"
#include "launcher/run_executor.h"

namespace vmunet {

struct WorkerOptions {
  double heartbeat_interval_s = 1;
  // Needs MPI_THREAD_MULTIPLE under MPI. Without it recorder events are sent one by one, at once.
  bool heartbeat_thread = true;
};

// `group_control`: a duplicate of the group's communicator for the assignments (MPI_COMM_NULL for
// a group of one). A multi-rank run that throws on this rank cannot go on (its other ranks may
// wait in a collective): the failure is recorded, then an Error ends the job.
void work_sweep(CoordinatorLink& link, const GroupContext& group, MPI_Comm group_control,
                RunExecutor& executor, const std::atomic<bool>& stop, const WorkerOptions& options);

}  // namespace vmunet
