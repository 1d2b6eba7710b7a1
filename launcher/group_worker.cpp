#include "launcher/group_worker.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "common/error.h"
#include "launcher/forwarding_recorder.h"
#include "launcher/mpi_util.h"

namespace vmunet {
namespace {

// While a run trains, sends a heartbeat for it (with the events recorded since the last message)
// every interval. One thread for the worker's life: runs may take milliseconds.
class Heartbeat {
 public:
  Heartbeat(ForwardingRecorder& recorder, double interval_s)
      : thread_([this, &recorder, period = std::chrono::duration<double>(interval_s)] {
          std::unique_lock<std::mutex> lock(mutex_);
          while (!cv_.wait_for(lock, period, [this] { return done_; }))
            if (!run_key_.empty())
              recorder.send_with_events({MessageType::heartbeat, {{"run_key", run_key_}}});
        }) {}
  ~Heartbeat() {
    set_run("");
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void set_run(const std::string& run_key) {
    std::lock_guard<std::mutex> lock(mutex_);
    run_key_ = run_key;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string run_key_;
  std::thread thread_;
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

RunAssignment assignment(const nlohmann::json& b) {
  return {b.at("run_key"), b.at("config"), b.at("sweep"), b.at("resume"), b.at("attempt")};
}

// The leader's next assignment, or nothing when the coordinator has no more work. `request`
// carries the end of the previous run, if any, and the events not yet sent.
std::optional<RunAssignment> request_run(CoordinatorLink& link, ForwardingRecorder& recorder,
                                         nlohmann::json request) {
  recorder.send_with_events({MessageType::request_run, std::move(request)});
  const Message reply = link.receive();
  if (reply.type == MessageType::no_more_work) return std::nullopt;
  if (reply.type != MessageType::assign_run)
    throw Error(std::string("sweep protocol: expected assign_run, got ") +
                message_type_name(reply.type));
  return assignment(reply.body);
}

// The leader's assignment (or its absence) on every rank of the group.
std::optional<RunAssignment> share(std::optional<RunAssignment> run, MPI_Comm group_control) {
  std::string bytes;
  if (run)
    bytes =
        assignment_body(run->run_key, run->config, run->sweep, run->resume, run->attempt).dump();
  broadcast_polled(bytes, 0, group_control);
  if (bytes.empty()) return std::nullopt;
  return assignment(nlohmann::json::parse(bytes));
}

}  // namespace

void work_sweep(CoordinatorLink& link, const GroupContext& group, MPI_Comm group_control,
                RunExecutor& executor, const std::atomic<bool>& stop,
                const WorkerOptions& options) {
  const bool leader = group.rank == 0;
  ForwardingRecorder recorder([&link](const Message& m) { link.send(m); },
                              options.heartbeat_thread);
  std::optional<Heartbeat> heartbeat;
  if (leader && options.heartbeat_thread) heartbeat.emplace(recorder, options.heartbeat_interval_s);
  nlohmann::json request = {{"group", group.group}};
  while (true) {
    std::optional<RunAssignment> run;
    request["stopping"] = stop.load();
    if (leader) run = request_run(link, recorder, std::exchange(request, {{"group", group.group}}));
    if (group.size > 1) run = share(std::move(run), group_control);
    if (!run) return;

    RunOutcome outcome;
    std::string fatal;
    if (heartbeat) heartbeat->set_run(run->run_key);
    try {
      outcome = executor.execute(*run, leader ? &recorder : nullptr, stop);
    } catch (const std::exception& e) {
      outcome = {RunStatus::failed, first_line(e.what())};
      if (group.size > 1) fatal = outcome.error;
    }
    if (heartbeat) heartbeat->set_run("");
    if (!fatal.empty()) {
      if (leader) recorder.send_with_events({MessageType::recorder_events});
      link.send({MessageType::run_finished,
                 {{"run_key", run->run_key}, {"status", "failed"}, {"error", fatal}}});
      link.receive();  // finished_ack: the failure is in the database
      throw Error("run " + run->run_key + " failed on rank " + std::to_string(group.rank) +
                  " of group " + std::to_string(group.group) + ": " + fatal +
                  " (recorded; its group cannot go on without this rank, so the job ends: "
                  "relaunch to continue the sweep)");
    }
    request["finished"] = {{"run_key", run->run_key},
                           {"status", run_status_name(outcome.status)},
                           {"error", outcome.error}};
  }
}

}  // namespace vmunet
