// Where a run's events go. The trainer reports through this interface only; a single `vmunet
// train` writes them to the results database directly, and under the sweep launcher they travel
// over MPI to the coordinator, the database's single writer (DESIGN §5).
#pragma once

#include <cstdint>
#include <string>

#include "storage/results_db.h"  // EpochRecord

namespace vmunet {

struct RunStart {
  std::string run_key, name, sweep;
  std::string config_json;       // the resolved config
  std::string host, devices;     // e.g. "node1", "cpu x2 ranks"
  std::string code_version;      // vmunet version and git describe
  std::string environment_json;  // LibTorch version, device names, threads
};

class RunRecorder {
 public:
  virtual ~RunRecorder() = default;
  virtual void started(const RunStart& start) = 0;
  virtual void epoch(const std::string& run_key, const EpochRecord& record) = 0;
  virtual void metric(const std::string& run_key, const std::string& split, const std::string& name,
                      double value) = 0;
  // One per-case value, e.g. case "case0001", name "dsc/aorta".
  virtual void case_metric(const std::string& run_key, const std::string& split,
                           const std::string& case_name, const std::string& name, double value) = 0;
  // One metric of the evaluation after `epoch` (every train.eval_every epochs and the last),
  // e.g. split "test", name "dsc" or "loss": the curve the report's figures draw.
  virtual void evaluation(const std::string& run_key, int64_t epoch, const std::string& split,
                          const std::string& name, double value) = 0;
  virtual void artifact(const std::string& run_key, const std::string& kind,
                        const std::string& path, const std::string& sha256) = 0;
  // The file of an artifact recorded earlier was deleted (a checkpoint rotated away).
  virtual void artifact_removed(const std::string& run_key, const std::string& path) = 0;
  // status: done | failed | oom | diverged | preempted; error empty unless failed.
  virtual void finished(const std::string& run_key, const std::string& status,
                        const std::string& error) = 0;
};

}  // namespace vmunet
