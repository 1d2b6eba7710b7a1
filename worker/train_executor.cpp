#include "worker/train_executor.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

#include "common/error.h"
#include "storage/synthetic.h"
#include "worker/run_config.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {

class TrainExecutor : public RunExecutor {
 public:
  explicit TrainExecutor(GroupContext group) : group_(std::move(group)) {
    if (group_.size > 1) throw Error("gpus_per_run > 1 needs group communicators (seams)");
  }

  RunOutcome execute(const RunAssignment& run, RunRecorder* recorder,
                     const std::atomic<bool>&) override {
    TrainRequest req;
    req.config = run.config;
    req.runs_dir = group_.runs_dir;
    req.resume = run.resume;
    req.sweep = run.sweep;
    req.recorder = recorder;
    try {
      const TrainResult result = train_run(req);
      return {parse_run_status(result.status), result.error};
    } catch (const Error& e) {  // recorded as failed by the trainer; the sweep goes on
      return {RunStatus::failed, e.what()};
    }
  }

 private:
  GroupContext group_;
};

// Datasets made on first use, made once here so that two groups never write the same file.
void make_synthetic_datasets(const std::vector<nlohmann::json>& configs) {
  std::set<std::string> made;
  for (const auto& config : configs) {
    const RunConfig cfg = parse_run_config(config);
    if (!cfg.synthesize_if_missing || cfg.data_path.empty() ||
        std::filesystem::exists(cfg.data_path) || !made.insert(cfg.data_path).second)
      continue;
    SyntheticOptions o;
    o.task = parse_task(cfg.synthetic_task, "data.synthetic.task");
    o.train = cfg.synthetic_train;
    o.test = cfg.synthetic_test;
    o.size = static_cast<int>(cfg.synthetic_size);
    o.seed = cfg.synthetic_seed;
    spdlog::info("{}: not found; writing a synthetic {} dataset", cfg.data_path,
                 cfg.synthetic_task);
    if (std::filesystem::path(cfg.data_path).has_parent_path())
      std::filesystem::create_directories(std::filesystem::path(cfg.data_path).parent_path());
    prepare_synthetic(o, cfg.data_path);
  }
}

}  // namespace

ExecutorFactory train_executor_factory() {
  return {[](const GroupContext& group) -> std::unique_ptr<RunExecutor> {
            return std::make_unique<TrainExecutor>(group);
          },
          make_synthetic_datasets};
}

}  // namespace vmunet
