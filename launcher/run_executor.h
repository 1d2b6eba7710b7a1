// What a group of ranks does with a run the coordinator assigns. The launcher knows only this
// interface, so it needs no LibTorch: the trainer is one implementation (worker/train_executor.h),
// a stand-in that sleeps or fails on demand another (launcher/stand_in_executor.h).
#pragma once

#include <mpi.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/results_db.h"
#include "worker/run_recorder.h"

namespace vmunet {

struct RunAssignment {
  std::string run_key;
  nlohmann::json config;  // resolved
  std::string sweep;
  bool resume = true;  // continue from the run's newest checkpoint, if it has one
  int64_t attempt = 0;
};

struct RunOutcome {
  RunStatus status = RunStatus::failed;
  std::string error;  // one line, empty when done
};

// The ranks that train one run together.
struct GroupContext {
  MPI_Comm comm = MPI_COMM_NULL;  // the group's ranks (for training collectives); null: no MPI
  int group = 0;                  // which group of the world
  int rank = 0, size = 1;         // within the group
  std::string runs_dir;           // runs work in runs_dir/<run key>/
};

class RunExecutor {
 public:
  virtual ~RunExecutor() = default;
  // Runs one assignment on every rank of the group together. `recorder` is set on the group's
  // leader only. When `stop` turns true (a signal), the run checkpoints at its next step
  // boundary and returns preempted. A run's own failure is an outcome, not an exception;
  // an exception means this rank cannot go on.
  virtual RunOutcome execute(const RunAssignment& run, RunRecorder* recorder,
                             const std::atomic<bool>& stop) = 0;
};

struct ExecutorFactory {
  std::function<std::unique_ptr<RunExecutor>(const GroupContext&)> make;
  // Called once, on one rank, before any group starts: makes inputs that runs would otherwise
  // create on first use (synthetic datasets), so that two groups never write the same file.
  std::function<void(const std::vector<nlohmann::json>& configs)> prepare_inputs;
};

}  // namespace vmunet
