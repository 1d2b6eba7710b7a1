// `vmunet slurm`: an sbatch script for a sweep from the template slurm/sweep.sbatch.in (embedded at
// build time), and its submission.
#pragma once

#include <string>

namespace vmunet {

struct SlurmOptions {
  std::string spec;    // sweep spec JSON
  std::string vmunet;  // the binary the job runs (absolute)
  int nodes = 1;
  int gpus_per_node = 0;   // 0: a CPU-only job of tasks_per_node ranks per node
  int tasks_per_node = 0;  // 0: one per GPU
  std::string time;        // HH:MM:SS (or D-HH:MM:SS)
  std::string partition, account;
  int cpus_per_gpu = 0;       // per task: one task per GPU (0: Slurm's default)
  std::string mem_per_gpu;    // e.g. "64G" (empty: Slurm's default)
  std::string db;             // empty: results.db beside the spec
  std::string runs;           // run folders; empty: runs/ beside the database
  std::string out_dir = ".";  // the script and the job's log
  std::string workdir;        // the job's working directory (relative data paths); empty: cwd
};

// The script's text; throws vmunet::Error naming the option for bad values.
std::string slurm_script(const SlurmOptions& options);

// Writes the script into out_dir as <sweep name>.sbatch; returns its path.
std::string write_slurm_script(const SlurmOptions& options);

// Runs `sbatch --parsable SCRIPT`; returns the job id. Throws Error with one line when sbatch is
// not on the PATH or refuses the script.
std::string submit_slurm_script(const std::string& script_path);

}  // namespace vmunet
