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

// Sends a heartbeat for `run_key`, with the events recorded since the last one, every interval
// until destroyed.
class HeartbeatThread {
 public:
  HeartbeatThread(CoordinatorLink& link, ForwardingRecorder& recorder, std::string run_key,
                  double interval_s)
      : thread_([this, &link, &recorder, key = std::move(run_key), interval_s] {
          const auto period = std::chrono::duration<double>(interval_s);
          std::unique_lock<std::mutex> lock(mutex_);
          while (!cv_.wait_for(lock, period, [this] { return done_; }))
            link.send({MessageType::heartbeat, {{"run_key", key}, {"events", recorder.take()}}});
        }) {}
  ~HeartbeatThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

RunAssignment assignment(const nlohmann::json& b) {
  return {b.at("run_key"), b.at("config"), b.at("sweep"), b.at("resume"), b.at("attempt")};
}

// The leader's next assignment, or nothing when the coordinator has no more work. `request`
// carries the end of the previous run, if any.
std::optional<RunAssignment> request_run(CoordinatorLink& link, nlohmann::json request) {
  link.send({MessageType::request_run, std::move(request)});
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
  nlohmann::json request = {{"group", group.group}};
  while (true) {
    std::optional<RunAssignment> run;
    request["stopping"] = stop.load();
    request["events"] = recorder.take();
    if (leader) run = request_run(link, std::exchange(request, {{"group", group.group}}));
    if (group.size > 1) run = share(std::move(run), group_control);
    if (!run) return;

    RunOutcome outcome;
    std::string fatal;
    {
      std::optional<HeartbeatThread> heartbeat;
      if (leader && options.heartbeat_thread)
        heartbeat.emplace(link, recorder, run->run_key, options.heartbeat_interval_s);
      try {
        outcome = executor.execute(*run, leader ? &recorder : nullptr, stop);
      } catch (const std::exception& e) {
        outcome = {RunStatus::failed, first_line(e.what())};
        if (group.size > 1) fatal = outcome.error;
      }
    }
    if (!fatal.empty()) {
      if (leader) link.send({MessageType::recorder_events, {{"events", recorder.take()}}});
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
