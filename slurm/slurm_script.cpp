#include "slurm/slurm_script.h"

#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "common/error.h"
#include "common/find_program.h"

namespace vmunet {
namespace fs = std::filesystem;

const char* sweep_sbatch_template();  // slurm/sweep.sbatch.in, embedded by CMake

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// #SBATCH lines take no quoting: values must be free of blanks and quotes.
std::string sbatch_value(const std::string& value, const std::string& option) {
  if (value.find_first_of(" \t\n'\"\\") != std::string::npos)
    throw Error(
        option + " " + value +
        ": blanks, quotes and backslashes cannot go into an #SBATCH line; use another path");
  return value;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

std::string sweep_name(const std::string& spec_path) {
  std::ifstream in(spec_path);
  if (!in) throw Error(spec_path + ": cannot open the sweep spec");
  const auto spec = nlohmann::json::parse(in, nullptr, false);
  if (spec.is_discarded() || !spec.is_object() || !spec.contains("name") ||
      !spec["name"].is_string())
    throw Error(spec_path + ": not a sweep spec with a \"name\" (see configs/sweeps/)");
  const std::string name = spec["name"];
  if (!std::regex_match(name, std::regex("[A-Za-z0-9_.-]+")))
    throw Error(spec_path + ": sweep name '" + name +
                "' must be letters, digits, '_', '.' or '-' to name a Slurm job");
  return name;
}

}  // namespace

std::string slurm_script(const SlurmOptions& o) {
  const std::string name = sweep_name(o.spec);
  if (o.nodes < 1) throw Error("--nodes " + std::to_string(o.nodes) + ": must be at least 1");
  if (o.gpus_per_node < 0) throw Error("--gpus-per-node: must be 0 (CPU only) or more");
  if (!std::regex_match(o.time, std::regex(R"((\d+-)?\d{1,2}:\d{2}:\d{2})")))
    throw Error("--time " + o.time + ": expected HH:MM:SS or D-HH:MM:SS");
  int tasks = o.tasks_per_node;
  if (o.gpus_per_node > 0) {
    if (tasks != 0 && tasks != o.gpus_per_node)
      throw Error(
          fmt::format("--ntasks-per-node {}: a GPU job runs one rank per GPU ({}); "
                      "leave it out, or use --gpus-per-node 0 for a CPU job",
                      tasks, o.gpus_per_node));
    tasks = o.gpus_per_node;
  } else {
    if (tasks < 1)
      throw Error(
          "--gpus-per-node 0 makes a CPU job: give its ranks per node with "
          "--ntasks-per-node N");
    if (!o.mem_per_gpu.empty())
      throw Error("--mem-per-gpu " + o.mem_per_gpu + ": a CPU job has no GPUs");
  }
  const fs::path spec = fs::absolute(o.spec).lexically_normal();
  const fs::path db =
      o.db.empty() ? spec.parent_path() / "results.db" : fs::absolute(o.db).lexically_normal();
  const fs::path runs =
      o.runs.empty() ? db.parent_path() / "runs" : fs::absolute(o.runs).lexically_normal();
  const fs::path out = fs::absolute(o.out_dir).lexically_normal();
  const fs::path workdir =
      o.workdir.empty() ? fs::current_path() : fs::absolute(o.workdir).lexically_normal();

  std::vector<std::string> lines{
      "--job-name=vmunet-" + name,
      fmt::format("--nodes={}", o.nodes),
      fmt::format("--ntasks-per-node={}", tasks),
  };
  if (o.gpus_per_node > 0) lines.push_back(fmt::format("--gpus-per-node={}", o.gpus_per_node));
  // One task per GPU, so a task's CPUs are the GPU's; --cpus-per-task also reaches srun's tasks.
  if (o.cpus_per_gpu > 0) lines.push_back(fmt::format("--cpus-per-task={}", o.cpus_per_gpu));
  if (!o.mem_per_gpu.empty())
    lines.push_back("--mem-per-gpu=" + sbatch_value(o.mem_per_gpu, "--mem-per-gpu"));
  lines.push_back("--time=" + o.time);
  if (!o.partition.empty())
    lines.push_back("--partition=" + sbatch_value(o.partition, "--partition"));
  if (!o.account.empty()) lines.push_back("--account=" + sbatch_value(o.account, "--account"));
  lines.push_back("--requeue");
  lines.push_back("--signal=B:USR1@300");  // five minutes to checkpoint before the limit
  lines.push_back("--open-mode=append");   // a requeued job continues the same log
  lines.push_back("--output=" + sbatch_value((out / (name + "-%j.out")).string(), "--out"));
  lines.push_back("--chdir=" + sbatch_value(workdir.string(), "the working directory"));
  std::string block;
  for (const auto& l : lines) block += (block.empty() ? "" : "\n") + std::string("#SBATCH ") + l;

  std::string text = sweep_sbatch_template();
  replace_all(text, "@SBATCH_LINES@", block);
  replace_all(text, "@TASKS_PER_NODE@", std::to_string(tasks));
  replace_all(text, "@VMUNET@", shell_quote(o.vmunet));
  replace_all(text, "@SPEC@", shell_quote(spec.string()));
  replace_all(text, "@DB@", shell_quote(db.string()));
  replace_all(text, "@RUNS@", shell_quote(runs.string()));
  return text;
}

std::string write_slurm_script(const SlurmOptions& o) {
  const std::string text = slurm_script(o);
  fs::create_directories(o.out_dir);
  const fs::path path = fs::absolute(o.out_dir) / (sweep_name(o.spec) + ".sbatch");
  std::ofstream out(path);
  out << text;
  if (!out) throw Error(path.string() + ": cannot write the sbatch script");
  out.close();
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  return path.string();
}

std::string submit_slurm_script(const std::string& script_path) {
  const std::string sbatch = find_program("sbatch");
  if (sbatch.empty())
    throw Error("sbatch is not on the PATH: submit " + script_path +
                " from a Slurm login node (sbatch " + script_path + ")");
  const std::string command =
      shell_quote(sbatch) + " --parsable " + shell_quote(script_path) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw Error("cannot run sbatch for " + script_path);
  std::string output;
  std::array<char, 512> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) output.append(buf.data(), n);
  const int status = pclose(pipe);
  const std::string first = output.substr(0, output.find('\n'));
  if (status != 0 || first.empty()) throw Error("sbatch refused " + script_path + ": " + first);
  return first.substr(0, first.find(';'));  // "jobid[;cluster]"
}

}  // namespace vmunet
