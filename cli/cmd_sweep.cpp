// `vmunet sweep`: every run of a sweep spec, across the ranks of an mpirun job (groups of
// gpus_per_run ranks) or in this process; the library does the work (launcher/sweep_launcher.h).
#include <H5Cpp.h>

#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "launcher/sweep_launcher.h"
#include "storage/dataset_h5.h"
#include "worker/train_executor.h"

namespace vmunet::cli {
namespace {

const char* const kExitCodes =
    "Exit codes (the same on every rank):\n"
    "  0  every run of the sweep is done\n"
    "  1  error: bad spec, missing inputs, or a rank that could not go on (job aborted)\n"
    "  2  every run ended, some failed, oom or diverged (relaunch with --retry-failed)\n"
    "  3  stopped by SIGTERM, SIGUSR1 or SIGINT: runs checkpointed and marked preempted;\n"
    "     relaunch the same command to resume them. Under Open MPI's mpirun, SIGUSR1 reaches\n"
    "     the ranks at once; SIGTERM reaches them odls_base_sigkill_timeout seconds later\n"
    "     (default 1) and they are killed as long after: run mpirun with\n"
    "     --mca odls_base_sigkill_timeout 30 so that SIGTERM leaves time to checkpoint\n";

// A prepared dataset's resolution and training images, for the runs' expected cost.
std::optional<DatasetShape> probe_dataset(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  const DatasetMeta meta = read_dataset_meta(path);
  H5::H5File file(path, H5F_ACC_RDONLY);
  hsize_t dims[4] = {0, 0, 0, 0};
  file.openDataSet("/train/images").getSpace().getSimpleExtentDims(dims);
  return DatasetShape{meta.resolution, static_cast<int64_t>(dims[0])};
}

void run_sweep_command(SweepOptions o) {
  if (o.db_path.empty() && !o.dry_run) throw Error("--db: required (the results database)");
  o.probe = probe_dataset;
  const int code = run_sweep(o, train_executor_factory()).exit_code;
  if (code != kSweepAllDone) throw CLI::RuntimeError(code);
}

void add_sweep(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep",
      "Train every run of a sweep spec (configs/sweeps/): under `mpirun -np N` in groups of "
      "gpus_per_run ranks, else in this process. Relaunching skips done runs and resumes "
      "interrupted ones");
  auto o = std::make_shared<SweepOptions>();
  sub->add_option("spec", o->spec_path, "sweep spec JSON")->required()->check(CLI::ExistingFile);
  sub->add_option("--db", o->db_path, "results database (SQLite); rank 0 alone writes it");
  sub->add_option("--out", o->runs_dir, "folder for run folders (named by run key)")
      ->capture_default_str();
  sub->add_option("--gpus-per-run", o->gpus_per_run, "ranks per run (default: the spec's)");
  sub->add_flag("--retry-failed", o->retry_failed, "run failed, oom and diverged runs again");
  sub->add_flag("--dry-run", o->dry_run,
                "list the runs (key, values, expected cost, state, missing inputs); train nothing");
  sub->add_option("--heartbeat-timeout", o->heartbeat_timeout_s,
                  "seconds of silence after which `vmunet status` shows a run stalled")
      ->capture_default_str();
  sub->footer(kExitCodes);
  sub->callback([o] { run_sweep_command(*o); });
}

const bool registered = register_command(add_sweep);

}  // namespace
}  // namespace vmunet::cli
