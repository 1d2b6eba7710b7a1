// One training run by the paper's protocol (DESIGN §3): data, model, AdamW with cosine annealing,
// augmentation, evaluation, checkpoints, on one rank or data-parallel over a communicator.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "worker/communicator.h"
#include "worker/run_recorder.h"

namespace vmunet {

struct TrainRequest {
  nlohmann::json config;            // resolved (resolve_run_config)
  std::string runs_dir;             // the run works in runs_dir/<run key>/
  bool resume = false;              // continue from the newest valid checkpoint there
  std::string sweep;                // sweep name, when the launcher runs it
  Communicator* comm = nullptr;     // null: one process
  RunRecorder* recorder = nullptr;  // null: nothing recorded (only rank 0 records)
  // Stop (status preempted, checkpoint written) once this process has run this many epochs;
  // 0: run to the end. The launcher's preemption signal and the resume tests use it.
  int64_t stop_after_epochs = 0;
};

struct TrainResult {
  std::string run_key;
  std::string status;                     // done | diverged | oom | failed
  std::string error;                      // one line, empty when done
  int64_t epochs = 0;                     // epochs completed
  std::map<std::string, double> metrics;  // the last test evaluation
};

// Trains and evaluates. A run that diverges (NaN/Inf loss) or runs out of device memory ends with
// that status recorded; other failures are recorded as failed and rethrown.
TrainResult train_run(const TrainRequest& request);

}  // namespace vmunet
