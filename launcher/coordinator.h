// The sweep's coordinator: the queue of runs (longest first), what each group is doing, and the
// results database, which it alone writes (DESIGN §5). It is transport-free: handle() takes one
// message (launcher/queue_protocol.h) and returns the replies; the MPI service loop or the
// in-process link (launcher/coordinator_link.h) moves them.
//
// Writes are batched: recorder events, outcomes and heartbeats are buffered and committed in one
// transaction every flush_interval_s or flush_events, whichever comes first (and at the end).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "launcher/exit_codes.h"
#include "launcher/queue_protocol.h"
#include "storage/results_db.h"
#include "sweep/sweep_expand.h"
#include "worker/db_recorder.h"

namespace vmunet {

struct CoordinatorOptions {
  bool retry_failed = false;         // hand out failed, oom and diverged runs again
  int groups = 1;                    // groups that will ask for work
  double heartbeat_timeout_s = 300;  // silence after which a run shows stalled
  double flush_interval_s = 0.2;
  size_t flush_events = 2000;
};

struct CoordinatorStats {
  int64_t assigned = 0, finished = 0, events = 0, transactions = 0;
  double seconds_writing = 0;
  // From the first assignment to the last outcome, on the coordinator's clock.
  double seconds_dispatching = 0;
};

class Coordinator {
 public:
  using Clock = std::chrono::steady_clock;
  using Reply = std::pair<int, Message>;  // to world rank, message

  // Records the sweep (its spec; refused if the database holds another spec under its name),
  // adds its new runs as pending and queues the runs to do: not done, and failed ones only with
  // retry_failed. `stop` (may be null) turns true on a signal: no run is handed out after it.
  Coordinator(ResultsDb& db, const SweepSpec& spec, const std::vector<PlannedRun>& plan,
              CoordinatorOptions options, const std::atomic<bool>* stop);

  std::vector<Reply> handle(int from, const Message& message);
  void tick();  // time-based flush and stall warnings
  void flush();
  bool finished() const { return groups_left_ == 0 && running_.empty(); }
  size_t queued() const { return queue_.size(); }
  const CoordinatorStats& stats() const { return stats_; }

  // After finished(): kSweepAllDone, kSweepInterrupted when runs are left unfinished (a stop),
  // else kSweepFailures when some ended failed, oom or diverged.
  int exit_code();

 private:
  std::vector<Reply> assign(int from, const nlohmann::json& request);
  void take_events(const nlohmann::json& body);
  void finish(const std::string& run_key, const std::string& status, const std::string& error);
  void note_heard(const std::string& run_key);

  ResultsDb& db_;
  DbRecorder recorder_;
  std::string sweep_;
  std::vector<std::string> plan_keys_;
  std::map<std::string, const PlannedRun*> by_key_;
  std::deque<const PlannedRun*> queue_;
  std::map<std::string, int64_t> attempts_;
  CoordinatorOptions options_;
  const std::atomic<bool>* stop_;
  int groups_left_;
  bool stopped_ = false;

  struct Running {
    int group;
    Clock::time_point heard;
    bool warned = false;
  };
  std::map<std::string, Running> running_;

  std::vector<nlohmann::json> pending_events_;  // recorder events and outcomes, in order
  std::set<std::string> pending_heartbeats_;
  Clock::time_point oldest_pending_;
  std::optional<Clock::time_point> first_assign_;
  CoordinatorStats stats_;
};

}  // namespace vmunet
