#include "launcher/sweep_launcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "common/error.h"
#include "launcher/coordinator.h"
#include "launcher/coordinator_link.h"
#include "launcher/dry_run.h"
#include "launcher/group_worker.h"
#include "launcher/mpi_util.h"
#include "launcher/stop_signal.h"
#include "sweep/sweep_expand.h"

namespace vmunet {
namespace {

struct Planned {
  SweepSpec spec;
  std::vector<PlannedRun> plan;
};

Planned plan_sweep(const SweepOptions& o) {
  Planned p{load_sweep_spec(o.spec_path), {}};
  if (o.gpus_per_run > 0) p.spec.gpus_per_run = o.gpus_per_run;
  p.plan = expand_sweep(p.spec, o.probe);
  return p;
}

// Before anything trains: every referenced file must exist.
void check_inputs(const Planned& p) {
  const auto missing = missing_files(p.plan);
  if (missing.empty()) return;
  throw Error(
      p.spec.path + ": " + std::to_string(missing.size()) + " missing input(s), e.g. " +
      missing.front() +
      "; prepare them (vmunet prepare) or fix the paths (vmunet sweep --dry-run lists all)");
}

CoordinatorOptions coordinator_options(const SweepOptions& o, int groups) {
  CoordinatorOptions c;
  c.retry_failed = o.retry_failed;
  c.groups = groups;
  c.heartbeat_timeout_s = o.heartbeat_timeout_s;
  return c;
}

WorkerOptions worker_options(const SweepOptions& o, bool heartbeat_thread) {
  return {std::clamp(o.heartbeat_timeout_s / 5, 0.05, 1.0), heartbeat_thread};
}

std::vector<nlohmann::json> configs(const std::vector<PlannedRun>& plan) {
  std::vector<nlohmann::json> out;
  for (const auto& run : plan) out.push_back(run.config);
  return out;
}

void log_summary(const Coordinator& c, int code) {
  const auto& s = c.stats();
  const double dispatch = s.seconds_dispatching > 0 ? s.finished / s.seconds_dispatching : 0;
  const double write = s.seconds_writing > 0 ? s.events / s.seconds_writing : 0;
  spdlog::info(
      "coordinator: {} runs handed out, {} ended in {:.2f} s ({:.0f} runs/s); {} events written "
      "in {} transactions, {:.3f} s writing ({:.0f} events/s); exit {}",
      s.assigned, s.finished, s.seconds_dispatching, dispatch, s.events, s.transactions,
      s.seconds_writing, write, code);
  if (stop_signal())
    spdlog::warn("stopped by signal {}: relaunch the same command to resume", stop_signal());
}

SweepResult run_in_process(const SweepOptions& o, const ExecutorFactory& executors,
                           const std::atomic<bool>& stop) {
  const Planned p = plan_sweep(o);
  check_inputs(p);
  if (p.spec.gpus_per_run > 1)
    spdlog::warn("gpus_per_run {} needs mpirun: without it each run trains on this process",
                 p.spec.gpus_per_run);
  if (executors.prepare_inputs) executors.prepare_inputs(configs(p.plan));
  ResultsDb db(o.db_path);
  Coordinator coordinator(db, p.spec, p.plan, coordinator_options(o, 1), &stop);
  auto link = make_local_link(coordinator);
  const GroupContext group{MPI_COMM_NULL, 0, 0, 1, o.runs_dir};
  auto executor = executors.make(group);
  work_sweep(*link, group, MPI_COMM_NULL, *executor, stop, worker_options(o, true));
  const int code = coordinator.exit_code();
  log_summary(coordinator, code);
  return {code, coordinator.stats()};
}

SweepResult run_under_mpi(const SweepOptions& o, const ExecutorFactory& executors,
                          const std::atomic<bool>& stop) {
  int rank = 0, size = 1, provided = 0;
  VMUNET_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  VMUNET_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  VMUNET_MPI_CHECK(MPI_Query_thread(&provided));
  const bool threaded = provided == MPI_THREAD_MULTIPLE;
  const int first_worker = threaded ? 0 : 1;
  MPI_Comm control;
  VMUNET_MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &control));

  // Rank 0 plans; a bad spec or a missing input ends the job before any rank trains.
  std::optional<Planned> p;
  std::string shared;
  if (rank == 0) {
    p = plan_sweep(o);
    check_inputs(*p);
    const int64_t g = p->spec.gpus_per_run, workers = size - first_worker;
    if (workers % g != 0)
      throw Error(
          "mpirun -np " + std::to_string(size) + ": " + std::to_string(workers) +
          " training ranks do not split into groups of gpus_per_run " + std::to_string(g) +
          (first_worker ? " (rank 0 only coordinates: MPI_THREAD_MULTIPLE unavailable)" : "") +
          "; start a multiple of it");
    if (!threaded && size > 1)
      spdlog::warn(
          "MPI provides thread level {} < MPI_THREAD_MULTIPLE: rank 0 coordinates only, "
          "and groups send no heartbeats between epochs",
          provided);
    shared = std::to_string(g);
  }
  broadcast_polled(shared, 0, control);
  const int g = std::stoi(shared);
  const int color = rank >= first_worker ? (rank - first_worker) / g : MPI_UNDEFINED;
  MPI_Comm group_comm = MPI_COMM_NULL, group_control = MPI_COMM_NULL;
  VMUNET_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, color, rank, &group_comm));
  if (group_comm != MPI_COMM_NULL && g > 1)
    VMUNET_MPI_CHECK(MPI_Comm_dup(group_comm, &group_control));

  std::unique_ptr<ResultsDb> db;
  std::unique_ptr<Coordinator> coordinator;
  if (rank == 0) {
    if (executors.prepare_inputs) executors.prepare_inputs(configs(p->plan));
    db = std::make_unique<ResultsDb>(o.db_path);
    coordinator = std::make_unique<Coordinator>(
        *db, p->spec, p->plan, coordinator_options(o, (size - first_worker) / g), &stop);
  }
  MPI_Request ready;  // no group asks for work before the inputs and the queue exist
  VMUNET_MPI_CHECK(MPI_Ibarrier(control, &ready));
  wait_polled(ready);

  std::thread service;
  if (rank == 0 && color != MPI_UNDEFINED)
    service = std::thread([&] {
      try {
        serve_coordinator(*coordinator, control);
      } catch (const std::exception& e) {  // the coordinator is gone: no rank may wait for it
        std::cerr << (std::string("vmunet: error: sweep coordinator: ") + e.what() + "\n");
        MPI_Abort(MPI_COMM_WORLD, kSweepError);
      }
    });
  if (color != MPI_UNDEFINED) {
    GroupContext group{group_comm, color, 0, 1, o.runs_dir};
    MPI_Comm_rank(group_comm, &group.rank);
    MPI_Comm_size(group_comm, &group.size);
    auto link = make_mpi_link(control, 0);
    auto executor = executors.make(group);
    work_sweep(*link, group, group_control, *executor, stop, worker_options(o, threaded));
  } else {
    serve_coordinator(*coordinator, control);
  }
  if (service.joinable()) service.join();

  std::string code;
  if (rank == 0) {
    code = std::to_string(coordinator->exit_code());
    log_summary(*coordinator, std::stoi(code));
  }
  broadcast_polled(code, 0, control);
  for (MPI_Comm* c : {&group_control, &group_comm, &control})
    if (*c != MPI_COMM_NULL) MPI_Comm_free(c);
  return {std::stoi(code), coordinator ? coordinator->stats() : CoordinatorStats{}};
}

}  // namespace

SweepResult run_sweep(const SweepOptions& o, const ExecutorFactory& executors) {
  int mpi = 0, rank = 0, size = 1;
  MPI_Initialized(&mpi);
  if (mpi) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  if (o.dry_run) {
    if (rank == 0) {
      const Planned p = plan_sweep(o);
      print_dry_run(std::cout, p.spec, p.plan, o.db_path);
    }
    return {};
  }
  const auto& stop = install_stop_handlers();
  // One rank needs no messages: its coordinator runs in-process, under mpirun or not.
  return size > 1 ? run_under_mpi(o, executors, stop) : run_in_process(o, executors, stop);
}

}  // namespace vmunet
