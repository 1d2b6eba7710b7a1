// `vmunet train`: one run by the paper's protocol, on one process or data-parallel under mpirun.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "storage/results_db.h"
#include "worker/db_recorder.h"
#include "worker/device.h"
#include "worker/mpi_communicator.h"
#include "worker/run_config.h"
#include "worker/trainer.h"

namespace vmunet::cli {
namespace {

struct TrainArgs {
  std::string config, db, out = "runs";
  std::vector<std::string> sets;
  bool resume = false;
};

void run_train(const TrainArgs& a) {
  TrainRequest req;
  req.config = load_run_config(a.config, a.sets);
  req.runs_dir = a.out;
  req.resume = a.resume;
  req.device = choose_device(parse_run_config(req.config).device, local_rank());
  std::unique_ptr<Communicator> comm;
  if (launched_under_mpi()) {
    comm = make_group_communicator(MPI_COMM_WORLD, *req.device);
    req.comm = comm.get();
  }
  std::unique_ptr<ResultsDb> db;
  std::unique_ptr<DbRecorder> recorder;
  if (!a.db.empty() && (!comm || comm->rank() == 0)) {
    db = std::make_unique<ResultsDb>(a.db);
    recorder = std::make_unique<DbRecorder>(*db);
    req.recorder = recorder.get();
  }
  const auto result = train_run(req);
  if (result.status != RunStatus::done)
    throw Error("run " + result.run_key + " ended " + run_status_name(result.status) + ": " +
                result.error);
  if (!comm || comm->rank() == 0) {
    std::cout << "run " << result.run_key << " done after " << result.epochs << " epochs";
    for (const auto& [k, v] : result.metrics)
      if (k.find('/') == std::string::npos) std::cout << "  " << k << " " << v;
    std::cout << "\n";
  }
}

void add_train(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "train",
      "Train one VM-UNet run and evaluate it on the test split (data-parallel under mpirun)");
  auto a = std::make_shared<TrainArgs>();
  sub->add_option("--config", a->config, "run config JSON (see configs/)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--set", a->sets, "override a config value: dotted.path=value (repeatable)");
  sub->add_option("--db", a->db, "results database (SQLite) to record the run in");
  sub->add_option("--out", a->out, "folder for run folders (named by config hash)")
      ->capture_default_str();
  sub->add_flag("--resume", a->resume, "continue from the run's newest valid checkpoint");
  sub->callback([a] { run_train(*a); });
}

const bool registered = register_command(add_train);

}  // namespace
}  // namespace vmunet::cli
