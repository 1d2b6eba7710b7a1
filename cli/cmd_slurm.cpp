// `vmunet slurm`: writes (and with --submit, submits) an sbatch script that runs a sweep.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "slurm/slurm_script.h"

namespace vmunet::cli {
namespace {

void add_slurm(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "slurm",
      "Write an sbatch script running a sweep (one rank per GPU, srun with PMIx, "
      "requeued until its runs are done); --submit submits it");
  auto o = std::make_shared<SlurmOptions>();
  auto submit = std::make_shared<bool>(false);
  sub->add_option("spec", o->spec, "sweep spec JSON")->required()->check(CLI::ExistingFile);
  sub->add_option("--nodes", o->nodes, "nodes")->required();
  sub->add_option("--gpus-per-node", o->gpus_per_node, "GPUs per node (0: a CPU-only job)")
      ->required();
  sub->add_option("--time", o->time, "time limit, HH:MM:SS (the job requeues itself at it)")
      ->required();
  sub->add_option("--partition", o->partition, "Slurm partition");
  sub->add_option("--account", o->account, "Slurm account");
  sub->add_option("--cpus-per-gpu", o->cpus_per_gpu, "CPUs per GPU (per rank)");
  sub->add_option("--mem-per-gpu", o->mem_per_gpu, "memory per GPU, e.g. 64G");
  sub->add_option("--ntasks-per-node", o->tasks_per_node,
                  "ranks per node of a CPU-only job (--gpus-per-node 0)");
  sub->add_option("--db", o->db, "results database (default: results.db beside the spec)");
  sub->add_option("--out", o->out_dir, "folder for the script and the job's log")
      ->capture_default_str();
  sub->add_flag("--submit", *submit, "submit the script with sbatch and print the job id");
  sub->callback([o, submit] {
    o->vmunet = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string path = write_slurm_script(*o);
    std::cout << path << "\n";
    if (*submit) std::cout << submit_slurm_script(path) << "\n";
  });
}

const bool registered = register_command(add_slurm);

}  // namespace
}  // namespace vmunet::cli
