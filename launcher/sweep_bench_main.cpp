// vmunet_sweep_bench: drives the sweep coordinator as hard as a large cluster would, with the
// stand-in executor (no training, no LibTorch), then checks that every run was recorded exactly
// once. `mpirun --oversubscribe -np 32 vmunet_sweep_bench --runs 10000 --out DIR`; the figures
// are in docs/performance.md ("Sweep coordinator").
#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "common/error.h"
#include "launcher/stand_in_executor.h"
#include "launcher/sweep_launcher.h"
#include "storage/results_db.h"

namespace {

namespace fs = std::filesystem;
using vmunet::Error;

struct BenchArgs {
  int64_t runs = 10000, epochs = 1;
  double sleep_ms = 0, fail_fraction = 0.05;
  std::string out = "sweep-bench";
};

// A spec of `runs` distinct runs: optimizer.lr × 10 seeds over a tiny base config.
std::string write_spec(const BenchArgs& a) {
  if (a.runs < 10 || a.runs % 10 != 0) throw Error("--runs: expected a multiple of 10");
  fs::create_directories(a.out);
  nlohmann::json base = {{"name", "bench"},
                         {"model", {{"dims", {8, 16, 32, 64}}}},
                         {"data", {{"path", "bench.h5"}, {"synthetic", {{"if_missing", true}}}}},
                         {"train", {{"epochs", a.epochs}}}};
  std::vector<double> lrs;
  for (int64_t i = 0; i < a.runs / 10; ++i) lrs.push_back(1e-4 * (1 + i));
  std::vector<int64_t> seeds;
  for (int64_t s = 0; s < 10; ++s) seeds.push_back(s);
  nlohmann::json spec = {{"name", "bench-" + std::to_string(a.runs)},
                         {"base", "base.json"},
                         {"axes", {{"optimizer.lr", lrs}}},
                         {"seeds", seeds}};
  std::ofstream(fs::path(a.out) / "base.json") << base.dump(1);
  std::ofstream(fs::path(a.out) / "spec.json") << spec.dump(1);
  return (fs::path(a.out) / "spec.json").string();
}

// Every run of the sweep exactly once, with its rows: prints the counts by state.
void verify(const std::string& db_path, const std::string& sweep, const BenchArgs& a) {
  vmunet::ResultsDb db(db_path, vmunet::ResultsDb::Mode::read_only);
  const auto runs = db.sweep_runs(db.find_sweep(sweep)->id);
  std::map<std::string, int64_t> states;
  int64_t epoch_rows = 0, metric_rows = 0;
  for (const auto& run : runs) {
    ++states[vmunet::run_status_name(run.status)];
    epoch_rows += static_cast<int64_t>(db.epochs(run.id).size());
    metric_rows += static_cast<int64_t>(db.metrics(run.id).size());
  }
  std::string counts;
  for (const auto& [state, n] : states) counts += fmt::format(" {} {}", state, n);
  fmt::print("recorded: {} runs ({} expected);{}; {} epoch rows, {} metric rows\n", runs.size(),
             a.runs, counts, epoch_rows, metric_rows);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark of the sweep coordinator with the stand-in executor (run under mpirun)"};
  BenchArgs a;
  app.add_option("--runs", a.runs, "runs in the sweep (a multiple of 10)")->capture_default_str();
  app.add_option("--epochs", a.epochs, "epoch rows each run records")->capture_default_str();
  app.add_option("--sleep-ms", a.sleep_ms, "time each run takes")->capture_default_str();
  app.add_option("--fail-fraction", a.fail_fraction, "share of runs that fail")
      ->capture_default_str();
  app.add_option("--out", a.out, "folder for the spec and results.db")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  int provided = 0, rank = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  spdlog::set_level(spdlog::level::warn);
  int code = 0;
  try {
    vmunet::SweepOptions o;
    o.spec_path = (fs::path(a.out) / "spec.json").string();
    o.db_path = (fs::path(a.out) / "results.db").string();
    if (rank == 0) {
      write_spec(a);
      fs::remove(o.db_path);
    }
    vmunet::StandInOptions stand_in;
    stand_in.sleep_ms = a.sleep_ms;
    stand_in.fail_fraction = a.fail_fraction;
    const auto result = vmunet::run_sweep(o, vmunet::stand_in_executor_factory(stand_in));
    code = result.exit_code;
    if (rank == 0) {
      int size = 1;
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      const auto& s = result.stats;
      fmt::print(
          "{} ranks, {} runs: dispatch {:.0f} runs/s ({} runs ended in {:.2f} s); writes {:.0f} "
          "runs/s, {:.0f} events/s ({} events in {} transactions, {:.3f} s writing); exit {}\n",
          size, a.runs, s.finished / s.seconds_dispatching, s.finished, s.seconds_dispatching,
          s.finished / s.seconds_writing, s.events / s.seconds_writing, s.events, s.transactions,
          s.seconds_writing, code);
      verify(o.db_path, "bench-" + std::to_string(a.runs), a);
    }
  } catch (const std::exception& e) {
    std::cerr << "vmunet_sweep_bench: error: " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, vmunet::kSweepError);
  }
  MPI_Finalize();
  return code;
}
