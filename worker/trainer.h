// One training run by the paper's protocol (DESIGN §3): data, model, AdamW with cosine annealing,
// augmentation, evaluation, checkpoints, on one rank or data-parallel over a communicator.
#pragma once

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <string>

#include "storage/results_db.h"
#include "worker/communicator.h"
#include "worker/run_config.h"
#include "worker/run_recorder.h"

namespace vmunet {

struct TrainRequest {
  nlohmann::json config;            // resolved (resolve_run_config)
  std::string runs_dir;             // the run works in runs_dir/<run key>/
  bool resume = false;              // continue from the newest valid checkpoint there
  std::string sweep;                // sweep name, when the launcher runs it
  Communicator* comm = nullptr;     // null: one process
  RunRecorder* recorder = nullptr;  // null: nothing recorded (only rank 0 records)
  // This rank's device; empty: chosen from train.device and the local rank (worker/device.h).
  std::optional<torch::Device> device;
  // Set (from a signal handler, say) to stop: read at every step boundary and agreed across the
  // ranks, so they stop at the same step; the run then ends preempted with a checkpoint of that
  // step, from which a resume continues exactly. Ranks may differ in having one.
  const std::atomic<bool>* stop = nullptr;
  // Stop the same way once this process has run this many epochs, or steps; 0: no limit (tests).
  int64_t stop_after_epochs = 0;
  int64_t stop_after_steps = 0;
};

struct TrainResult {
  std::string run_key;
  RunStatus status = RunStatus::pending;  // done | diverged | oom | preempted
  std::string error;                      // one line, empty when done or preempted
  int64_t epochs = 0;                     // epochs completed
  std::map<std::string, double> metrics;  // the last test evaluation
};

// The run's dataset file, written first on rank 0 if the config makes it synthetic on first use
// and it is missing (the other ranks wait); throws Error if it is missing otherwise.
std::string ensure_dataset(const RunConfig& cfg, Communicator& comm);

// Trains and evaluates. A run that diverges (NaN/Inf loss) or runs out of device memory ends with
// that status recorded; other failures are recorded as failed (their first line) and rethrown,
// except a locked results database (DatabaseLocked), rethrown unrecorded. A config or dataset
// refused at the start throws before the run's folder exists or anything is recorded.
TrainResult train_run(const TrainRequest& request);

}  // namespace vmunet
