#include "worker/train_executor.h"

#include <map>
#include <memory>

#include "common/error.h"
#include "worker/device.h"
#include "worker/mpi_communicator.h"
#include "worker/run_config.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {

class TrainExecutor : public RunExecutor {
 public:
  explicit TrainExecutor(GroupContext group) : group_(std::move(group)) {}

  RunOutcome execute(const RunAssignment& run, RunRecorder* recorder,
                     const std::atomic<bool>& stop) override {
    TrainRequest req;
    req.config = run.config;
    req.runs_dir = group_.runs_dir;
    req.resume = run.resume;
    req.sweep = run.sweep;
    req.recorder = recorder;
    req.stop = &stop;
    try {
      const torch::Device device = choose_device(parse_run_config(run.config).device, local_rank());
      req.device = device;
      if (group_.comm != MPI_COMM_NULL) req.comm = communicator(device);
      const TrainResult result = train_run(req);
      return {result.status, result.error};
    } catch (const Error& e) {  // recorded as failed by the trainer; the sweep goes on
      return {RunStatus::failed, e.what()};
    }
  }

 private:
  // One communicator per device for the executor's life: NCCL setup is costly.
  Communicator* communicator(const torch::Device& device) {
    auto& slot = comms_[device.str()];
    if (!slot) slot = make_group_communicator(group_.comm, device);
    return slot.get();
  }

  GroupContext group_;
  std::map<std::string, std::unique_ptr<Communicator>> comms_;
};

// Datasets made on first use, made once here so that two groups never write the same file.
void make_synthetic_datasets(const std::vector<nlohmann::json>& configs) {
  auto local = make_local_communicator();
  for (const auto& config : configs) {
    const RunConfig cfg = parse_run_config(config);
    if (cfg.synthesize_if_missing && !cfg.data_path.empty()) ensure_dataset(cfg, *local);
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
