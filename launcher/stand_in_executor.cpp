#include "launcher/stand_in_executor.h"

#include <chrono>
#include <thread>

namespace vmunet {
namespace {

class StandInExecutor : public RunExecutor {
 public:
  StandInExecutor(StandInOptions options, GroupContext group)
      : options_(std::move(options)), group_(std::move(group)) {}

  RunOutcome execute(const RunAssignment& run, RunRecorder* rec,
                     const std::atomic<bool>& stop) override {
    const int64_t epochs = run.config["train"]["epochs"].get<int64_t>();
    if (rec)
      rec->started({run.run_key, run.config["name"], run.sweep, run.config.dump(), "stand-in",
                    "none x" + std::to_string(group_.size), "stand-in", "{}"});
    const auto pause = std::chrono::duration<double, std::milli>(options_.sleep_ms / epochs);
    for (int64_t e = 1; e <= epochs; ++e) {
      if (stop) return finish(run, rec, {RunStatus::preempted, ""});
      if (options_.sleep_ms > 0) std::this_thread::sleep_for(pause);
      if (rec) rec->epoch(run.run_key, {e, 1.0 / e, 1e-3, pause.count() / 1e3, 100.0});
    }
    if (stand_in_fails(options_, run.run_key))
      return finish(run, rec,
                    {RunStatus::failed, "stand-in: run " + run.run_key + " fails on demand"});
    if (rec) rec->metric(run.run_key, "test", "dsc", 0.5);
    return finish(run, rec, {RunStatus::done, ""});
  }

 private:
  static RunOutcome finish(const RunAssignment& run, RunRecorder* rec, RunOutcome outcome) {
    if (rec) rec->finished(run.run_key, run_status_name(outcome.status), outcome.error);
    return outcome;
  }
  StandInOptions options_;
  GroupContext group_;
};

}  // namespace

bool stand_in_fails(const StandInOptions& options, const std::string& run_key) {
  if (options.fail_keys.count(run_key)) return true;
  // Run keys are hex digests: their leading digits are uniform.
  const double u = std::stoull(run_key.substr(0, 8), nullptr, 16) / 4294967296.0;
  return u < options.fail_fraction;
}

ExecutorFactory stand_in_executor_factory(const StandInOptions& options) {
  return {[options](const GroupContext& group) -> std::unique_ptr<RunExecutor> {
            return std::make_unique<StandInExecutor>(options, group);
          },
          nullptr};
}

}  // namespace vmunet
