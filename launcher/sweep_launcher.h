// `vmunet sweep`: one command that trains every run of a sweep spec across all the ranks of an
// mpirun job, or in this process without mpirun (DESIGN §6).
//
// The world splits into groups of gpus_per_run ranks (MPI_Comm_split); each group trains one run
// data-parallel and asks for the next. The coordinator (launcher/coordinator.h) lives in a
// thread of rank 0, so every rank trains; if MPI does not provide MPI_THREAD_MULTIPLE, rank 0
// coordinates only (and says so). Relaunching skips done runs, resumes interrupted ones from
// their newest checkpoint and retries failed ones only with retry_failed.
#pragma once

#include <string>

#include "launcher/coordinator.h"
#include "launcher/exit_codes.h"
#include "launcher/run_executor.h"
#include "sweep/run_cost.h"

namespace vmunet {

struct SweepOptions {
  std::string spec_path, db_path, runs_dir = "runs";
  int64_t gpus_per_run = 0;  // 0: the spec's
  bool retry_failed = false, dry_run = false;
  double heartbeat_timeout_s = 300;
  DatasetProbe probe;  // dataset shapes for the expected cost
};

struct SweepResult {
  int exit_code = kSweepAllDone;  // a SweepExit, the same on every rank
  CoordinatorStats stats;         // on the coordinator's rank (rank 0)
};

// Throws Error for a bad spec, missing inputs or a rank that cannot go on (the caller aborts the
// job).
SweepResult run_sweep(const SweepOptions& options, const ExecutorFactory& executors);

}  // namespace vmunet
