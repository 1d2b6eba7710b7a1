#include "launcher/coordinator.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/error.h"

namespace vmunet {
namespace {

bool is_failure(RunStatus s) {
  return s == RunStatus::failed || s == RunStatus::oom || s == RunStatus::diverged;
}

double seconds_since(Coordinator::Clock::time_point t) {
  return std::chrono::duration<double>(Coordinator::Clock::now() - t).count();
}

}  // namespace

Coordinator::Coordinator(ResultsDb& db, const SweepSpec& spec, const std::vector<PlannedRun>& plan,
                         CoordinatorOptions options, const std::atomic<bool>* stop)
    : db_(db),
      recorder_(db),
      sweep_(spec.name),
      options_(options),
      stop_(stop),
      groups_left_(options.groups) {
  db_.transaction([&] {
    if (const auto known = db_.find_sweep(spec.name);
        known && nlohmann::json::parse(known->spec_json) != spec.source)
      throw Error(spec.path + ": " + db_.path() + " already holds a sweep named '" + spec.name +
                  "' with a different spec; give this one another name, or use another --db");
    const int64_t sweep_id = db_.ensure_sweep(spec.name, spec.source.dump());
    for (const auto& run : plan) {
      plan_keys_.push_back(run.run_key);
      by_key_[run.run_key] = &run;
      auto known = db_.find_run(run.run_key);
      if (!known) {
        RunRecord fresh;
        fresh.run_key = run.run_key;
        fresh.config_json = run.config.dump();
        known = fresh;
        known->id = db_.upsert_run(fresh);
      }
      db_.add_run_to_sweep(sweep_id, known->id);
      attempts_[run.run_key] = known->attempt;
      if (known->status == RunStatus::done) continue;
      if (is_failure(known->status) && !options_.retry_failed) continue;
      queue_.push_back(&run);
    }
  });
  spdlog::info("sweep {}: {} runs, {} to do ({} groups)", spec.name, plan.size(), queue_.size(),
               options_.groups);
}

std::vector<Coordinator::Reply> Coordinator::handle(int from, const Message& m) {
  switch (m.type) {
    case MessageType::request_run:
      take_events(m.body);
      if (m.body.contains("finished")) {
        const auto& f = m.body["finished"];
        finish(f.at("run_key"), f.at("status"), f.at("error"));
      }
      return assign(from, m.body);
    case MessageType::recorder_events:
      take_events(m.body);
      return {};
    case MessageType::heartbeat:
      take_events(m.body);
      note_heard(m.body.at("run_key"));
      return {};
    case MessageType::run_finished:  // fatal: the job is about to end
      finish(m.body.at("run_key"), m.body.at("status"), m.body.at("error"));
      flush();
      return {{from, {MessageType::finished_ack}}};
    default:
      throw Error(std::string("sweep protocol: rank ") + std::to_string(from) + " sent " +
                  message_type_name(m.type) + " to the coordinator");
  }
}

void Coordinator::take_events(const nlohmann::json& body) {
  if (!body.contains("events")) return;
  for (const auto& event : body["events"]) {
    note_heard(event.at("run_key"));
    if (pending_events_.empty()) oldest_pending_ = Clock::now();
    pending_events_.push_back(event);
  }
}

void Coordinator::finish(const std::string& key, const std::string& status,
                         const std::string& error) {
  if (pending_events_.empty()) oldest_pending_ = Clock::now();
  pending_events_.push_back(
      recorder_event("finished", key, {{"status", status}, {"error", error}}));
  running_.erase(key);
  ++stats_.finished;
  if (first_assign_) stats_.seconds_dispatching = seconds_since(*first_assign_);
  if (status == "done")
    spdlog::debug("run {} done ({} left to hand out)", key, queue_.size());
  else
    spdlog::info("run {} {}{}{}", key, status, error.empty() ? "" : ": ", error);
}

std::vector<Coordinator::Reply> Coordinator::assign(int from, const nlohmann::json& request) {
  if (stop_ && *stop_ && !stopped_) {
    stopped_ = true;
    spdlog::warn("stop requested: no more runs are handed out; {} left queued", queue_.size());
  }
  if (stopped_ || request.value("stopping", false) || queue_.empty()) {
    --groups_left_;
    return {{from, {MessageType::no_more_work}}};
  }
  const PlannedRun* run = queue_.front();
  queue_.pop_front();
  const int group = request.at("group");
  running_[run->run_key] = {group, Clock::now()};
  if (!first_assign_) first_assign_ = Clock::now();
  ++stats_.assigned;
  pending_heartbeats_.insert(run->run_key);
  spdlog::debug("run {} → group {}", run->run_key, group);
  return {{from,
           {MessageType::assign_run, assignment_body(run->run_key, run->config, sweep_, true,
                                                     attempts_[run->run_key] + 1)}}};
}

void Coordinator::note_heard(const std::string& run_key) {
  auto it = running_.find(run_key);
  if (it == running_.end()) return;
  it->second.heard = Clock::now();
  it->second.warned = false;
  pending_heartbeats_.insert(run_key);
}

void Coordinator::tick() {
  if (!pending_events_.empty() && (pending_events_.size() >= options_.flush_events ||
                                   seconds_since(oldest_pending_) >= options_.flush_interval_s))
    flush();
  for (auto& [key, run] : running_) {
    if (run.warned || options_.heartbeat_timeout_s <= 0 ||
        seconds_since(run.heard) < options_.heartbeat_timeout_s)
      continue;
    spdlog::warn("run {}: group {} silent for {:.0f} s (stalled?)", key, run.group,
                 seconds_since(run.heard));
    run.warned = true;
  }
}

void Coordinator::flush() {
  if (pending_events_.empty() && pending_heartbeats_.empty()) return;
  const auto t0 = Clock::now();
  db_.transaction([&] {
    for (const auto& event : pending_events_) {
      try {
        apply_recorder_event(event, recorder_);
      } catch (const Error& e) {  // one bad value must not cost the batch
        spdlog::warn("run {}: {} event not recorded: {}", event.value("run_key", "?"),
                     event.value("event", "?"), e.what());
      }
    }
    for (const auto& key : pending_heartbeats_)
      if (const auto run = db_.find_run(key))
        db_.record_heartbeat(run->id, options_.heartbeat_timeout_s);
  });
  stats_.events += static_cast<int64_t>(pending_events_.size());
  ++stats_.transactions;
  stats_.seconds_writing += seconds_since(t0);
  pending_events_.clear();
  pending_heartbeats_.clear();
}

int Coordinator::exit_code() {
  flush();
  const auto sweep = db_.find_sweep(sweep_);
  std::map<std::string, RunStatus> status;
  for (const auto& run : db_.sweep_runs(sweep->id)) status[run.run_key] = run.status;
  bool failures = false, unfinished = false;
  for (const auto& key : plan_keys_) {
    failures |= is_failure(status[key]);
    unfinished |= !is_failure(status[key]) && status[key] != RunStatus::done;
  }
  if (unfinished) return kSweepInterrupted;
  return failures ? kSweepFailures : kSweepAllDone;
}

}  // namespace vmunet
