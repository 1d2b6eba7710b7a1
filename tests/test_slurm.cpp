// `vmunet slurm`: generated scripts pass bash -n and shellcheck for several option sets and carry
// the options asked for; bad options and a missing sbatch are one line each. Then a real one-node
// Slurm (scripts/slurm_local.sh): a sweep's job is preempted mid-way with USR1, requeues itself,
// and the requeued job finishes every run, none redone, lost or duplicated.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <thread>

#include "common/find_program.h"
#include "storage/results_db.h"
#include "tests/remove_tree.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

class Slurm : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_slurm_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir / "configs" / "sweeps");
    // A sweep small enough to train in seconds per run on a loaded 2-core machine, and long
    // enough to be preempted mid-way: with 6 epochs all four runs once ended within the second
    // the test took to see the first epoch and send the signal.
    std::ofstream(dir / "configs" / "tiny.json") << R"({
  "name": "tiny", "seed": 1,
  "model": {"dims": [8, 16, 32, 64], "depths": [1, 1, 1, 1], "depths_decoder": [1, 1, 1, 1],
            "num_classes": 1, "drop_path_rate": 0.0},
  "data": {"path": "data/tiny-64.h5",
           "synthetic": {"if_missing": true, "task": "binary", "train": 24, "test": 8, "size": 64, "seed": 3}},
  "train": {"epochs": 40, "batch_size": 4, "eval_every": 20, "max_steps_per_epoch": 3, "device": "cpu"}
})";
    std::ofstream(dir / "configs" / "sweeps" / "tiny.json") << R"({
  "name": "tiny", "base": "../tiny.json",
  "axes": {"model.drop_path_rate": [0.0, 0.1]}, "seeds": [1, 2], "gpus_per_run": 1
})";
    spec = (dir / "configs" / "sweeps" / "tiny.json").string();
  }
  void TearDown() override { test::remove_tree(dir); }

  fs::path dir;
  std::string spec;
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(Slurm, ScriptsPassBashAndShellcheckAndCarryTheirOptions) {
  const bool shellcheck = !find_program("shellcheck").empty();
  const std::string db = (dir / "elsewhere" / "r.db").string();
  struct Case {
    std::string args;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases{
      {"--nodes 1 --gpus-per-node 0 --ntasks-per-node 3 --time 00:10:00",
       {"#SBATCH --nodes=1\n#SBATCH --ntasks-per-node=3\n#SBATCH --time=00:10:00\n",
        "db='" + (dir / "configs" / "sweeps" / "results.db").string() + "'",
        "runs='" + (dir / "configs" / "sweeps" / "runs").string() + "'"}},
      {"--nodes 2 --gpus-per-node 4 --time 1-12:00:00 --partition gpu --account proj_1 "
       "--cpus-per-gpu 8 --mem-per-gpu 64G --db '" +
           db + "'",
       {"#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=4\n#SBATCH --gpus-per-node=4\n"
        "#SBATCH --cpus-per-task=8\n#SBATCH --mem-per-gpu=64G\n#SBATCH --time=1-12:00:00\n"
        "#SBATCH --partition=gpu\n#SBATCH --account=proj_1\n",
        "db='" + db + "'"}},
      {"--nodes 4 --gpus-per-node 8 --time 48:00:00", {"#SBATCH --gpus-per-node=8\n"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto out = dir / ("jobs" + std::to_string(i));
    const auto r =
        test::run_vmunet("slurm '" + spec + "' " + cases[i].args + " --out '" + out.string() + "'");
    ASSERT_EQ(r.status, 0) << r.output;
    const auto script = out / "tiny.sbatch";
    EXPECT_EQ(r.output, script.string() + "\n");
    const std::string text = read(script);
    for (const auto& line :
         {std::string("#SBATCH --job-name=vmunet-tiny\n"), std::string("#SBATCH --requeue\n"),
          std::string("#SBATCH --signal=B:USR1@300\n"), std::string("#SBATCH --open-mode=append\n"),
          "#SBATCH --output=" + (out / "tiny-%j.out").string() + "\n",
          std::string("srun --mpi=pmix "), "spec='" + spec + "'"})
      EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
    for (const auto& line : cases[i].expected)
      EXPECT_NE(text.find(line), std::string::npos) << line << " missing from\n" << text;
    const auto bash = test::run_shell("bash -n '" + script.string() + "'");
    EXPECT_EQ(bash.status, 0) << bash.output;
    if (shellcheck) {
      const auto lint = test::run_shell("shellcheck '" + script.string() + "'");
      EXPECT_EQ(lint.status, 0) << lint.output;
    }
  }
  if (!shellcheck) GTEST_SKIP() << "shellcheck not installed (scripts/install_deps.sh)";
}

TEST_F(Slurm, BadOptionsAndAMissingSbatchAreOneLine) {
  const std::string base = "slurm '" + spec + "' --out '" + (dir / "jobs").string() + "' ";
  const std::map<std::string, std::string> errors{
      {"--nodes 1 --gpus-per-node 0 --time 00:10:00",
       "--gpus-per-node 0 makes a CPU job: give its ranks per node with --ntasks-per-node N"},
      {"--nodes 1 --gpus-per-node 2 --ntasks-per-node 3 --time 00:10:00",
       "--ntasks-per-node 3: a GPU job runs one rank per GPU (2); leave it out, or use "
       "--gpus-per-node 0 for a CPU job"},
      {"--nodes 1 --gpus-per-node 1 --time 90", "--time 90: expected HH:MM:SS or D-HH:MM:SS"},
      {"--nodes 0 --gpus-per-node 1 --time 01:00:00", "--nodes 0: must be at least 1"},
  };
  for (const auto& [args, message] : errors) {
    const auto r = test::run_vmunet(base + args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_EQ(r.output, "vmunet: error: " + message + "\n") << args;
  }
  const std::string path = std::getenv("PATH");
  setenv("PATH", (dir / "empty").c_str(), 1);
  const auto r = test::run_vmunet(base + "--nodes 1 --gpus-per-node 1 --time 01:00:00 --submit");
  setenv("PATH", path.c_str(), 1);
  const std::string script = (dir / "jobs" / "tiny.sbatch").string();
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.output, script + "\nvmunet: error: sbatch is not on the PATH: submit " + script +
                          " from a Slurm login node (sbatch " + script + ")\n");
}

// `scontrol show job ID` field KEY, e.g. JobState.
std::string job_field(const std::string& job, const std::string& key) {
  const auto r = test::run_shell("scontrol show job " + job + " -o");
  const auto at = r.output.find(key + "=");
  if (at == std::string::npos) return "";
  const auto begin = at + key.size() + 1;
  return r.output.substr(begin, r.output.find_first_of(" \n", begin) - begin);
}

// Polls `ready` every half second for up to `seconds`.
bool wait_for(const std::function<bool()>& ready, int seconds) {
  for (int i = 0; i < seconds * 2; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return ready();
}

struct RunState {
  std::string status;
  int64_t attempt = 0;
  std::vector<int64_t> epochs, evaluated;
};

std::map<std::string, RunState> run_states(const std::string& db_path) {
  std::map<std::string, RunState> out;
  try {
    ResultsDb db(db_path, ResultsDb::Mode::read_only);
    db.transaction([&] {
      for (const auto& run : db.runs()) {
        auto& s = out[run.run_key];
        s.status = run_status_name(run.status);
        s.attempt = run.attempt;
        for (const auto& e : db.epochs(run.id)) s.epochs.push_back(e.epoch);
        for (const auto& e : db.evaluations(run.id))
          if (e.name == "dsc") s.evaluated.push_back(e.epoch);
      }
    });
  } catch (const std::exception&) {  // not created yet
  }
  return out;
}

TEST_F(Slurm, PreemptedJobRequeuesItselfAndFinishesEveryRunOnce) {
  const auto cluster = dir / "cluster";
  const std::string script = std::string(VMUNET_SOURCE_DIR) + "/scripts/slurm_local.sh";
  const auto start = test::run_shell("'" + script + "' start '" + cluster.string() + "'");
  if (start.status != 0) GTEST_SKIP() << "Slurm cannot be started here: " << start.output;
  struct Stop {
    std::string command;
    ~Stop() { test::run_shell(command); }
  } stop{"'" + script + "' stop '" + cluster.string() + "'"};
  setenv("SLURM_CONF", (cluster / "slurm.conf").c_str(), 1);  // the job inherits the rest
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  if (test::run_vmunet("--help").output.find("\n  sweep ") == std::string::npos)
    GTEST_SKIP() << "this vmunet has no `sweep` subcommand yet";

  // Two CPU ranks: the launcher's coordinator and one group, four runs of 40 epochs.
  const auto submitted = test::run_vmunet("slurm '" + spec +
                                              "' --nodes 1 --gpus-per-node 0 --ntasks-per-node 2 "
                                              "--time 00:30:00 --out jobs --submit",
                                          dir.string());
  ASSERT_EQ(submitted.status, 0) << submitted.output;
  const std::string job =
      submitted.output.substr(submitted.output.find('\n') + 1,
                              submitted.output.rfind('\n') - submitted.output.find('\n') - 1);
  const std::string db = (dir / "configs" / "sweeps" / "results.db").string();
  const auto log = dir / "jobs" / ("tiny-" + job + ".out");

  // Preempt as soon as the first run has an epoch recorded: mid-way through the sweep.
  ASSERT_TRUE(wait_for(
      [&] {
        for (const auto& [key, s] : run_states(db))
          if (!s.epochs.empty()) return true;
        return false;
      },
      120))
      << read(log);
  ASSERT_EQ(test::run_shell("scancel --signal=USR1 --batch " + job).status, 0);
  ASSERT_TRUE(wait_for([&] { return job_field(job, "JobState") == "PENDING"; }, 120)) << read(log);
  const auto before = run_states(db);
  // Slurm holds a requeued job back for two minutes (BeginTime); lift that, but only seconds after
  // the requeue: slurmd refuses a launch whose credential dates from the same second as the
  // previous instance's kill ("Job credential revoked"), and the job then ends FAILED.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_EQ(test::run_shell("scontrol update jobid=" + job + " starttime=now").status, 0);
  std::string state;
  ASSERT_TRUE(wait_for(
      [&] {
        state = job_field(job, "JobState");
        return state == "COMPLETED" || state == "FAILED" || state == "CANCELLED";
      },
      240))
      << test::run_shell("scontrol show job " + job).output << "\n"
      << read(log);
  ASSERT_EQ(state, "COMPLETED") << test::run_shell("scontrol show job " + job).output << "\n"
                                << read(log);
  const std::string text = read(log);
  EXPECT_NE(text.find("vmunet slurm: job " + job + " (restart 0)"), std::string::npos) << text;
  EXPECT_NE(text.find("vmunet slurm: runs remain; requeueing job " + job), std::string::npos);
  EXPECT_NE(text.find("vmunet slurm: job " + job + " (restart 1)"), std::string::npos);
  EXPECT_NE(text.find("vmunet slurm: sweep exited with 0"), std::string::npos);
  int unfinished = 0;
  for (const auto& [key, s] : before) unfinished += s.status != "done";
  unfinished += 4 - static_cast<int>(before.size());
  EXPECT_GT(unfinished, 0) << "the signal came after every run was done";

  const auto after = run_states(db);
  ASSERT_EQ(after.size(), 4u);  // nothing duplicated, nothing lost
  std::vector<int64_t> all_epochs(40);
  std::iota(all_epochs.begin(), all_epochs.end(), 1);
  for (const auto& [key, s] : after) {
    EXPECT_EQ(s.status, "done") << key;
    EXPECT_EQ(s.epochs, all_epochs) << key;
    EXPECT_EQ(s.evaluated, (std::vector<int64_t>{20, 40})) << key;
    // A run done before the preemption was not trained again; one cut short resumed once.
    const auto was = before.find(key);
    if (was != before.end() && was->second.status == "done")
      EXPECT_EQ(s.attempt, 1) << key;
    else
      EXPECT_LE(s.attempt, 2) << key;
  }
  ResultsDb check(db, ResultsDb::Mode::read_only);
  EXPECT_EQ(check.sweep_runs(check.find_sweep("tiny")->id).size(), 4u);
}

}  // namespace
}  // namespace vmunet
