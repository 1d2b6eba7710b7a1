#include "worker/db_recorder.h"

#include "common/error.h"

namespace vmunet {

int64_t DbRecorder::id(const std::string& run_key) {
  auto it = ids_.find(run_key);
  if (it != ids_.end()) return it->second;
  const auto run = db_.find_run(run_key);
  if (!run) throw Error(db_.path() + ": run " + run_key + " was never started");
  return ids_[run_key] = run->id;
}

void DbRecorder::started(const RunStart& s) {
  RunRecord r;
  if (auto previous = db_.find_run(s.run_key)) r = *previous;
  r.run_key = s.run_key;
  r.status = RunStatus::running;
  r.attempt += 1;
  r.host = s.host;
  r.devices = s.devices;
  r.error.clear();
  r.code_version = s.code_version;
  r.environment_json = s.environment_json;
  r.config_json = s.config_json;
  db_.transaction([&] {
    const int64_t run_id = db_.upsert_run(r);
    ids_[s.run_key] = run_id;
    if (!s.sweep.empty()) db_.add_run_to_sweep(db_.ensure_sweep(s.sweep, "{}"), run_id);
  });
}

void DbRecorder::epoch(const std::string& run_key, const EpochRecord& record) {
  db_.record_epoch(id(run_key), record);
}

void DbRecorder::metric(const std::string& run_key, const std::string& split,
                        const std::string& name, double value) {
  db_.record_metric(id(run_key), split, name, value);
}

void DbRecorder::case_metric(const std::string& run_key, const std::string& split,
                             const std::string& case_name, const std::string& name, double value) {
  db_.record_case(id(run_key), split, case_name, name, value);
}

void DbRecorder::evaluation(const std::string& run_key, int64_t epoch, const std::string& split,
                            const std::string& name, double value) {
  db_.record_evaluation(id(run_key), {epoch, split, name, value});
}

void DbRecorder::artifact(const std::string& run_key, const std::string& kind,
                          const std::string& path, const std::string& sha256) {
  db_.record_artifact(id(run_key), {path, kind, sha256});
}

void DbRecorder::artifact_removed(const std::string& run_key, const std::string& path) {
  db_.remove_artifact(id(run_key), path);
}

void DbRecorder::finished(const std::string& run_key, const std::string& status,
                          const std::string& error) {
  db_.set_run_status(id(run_key), parse_run_status(status), error);
}

}  // namespace vmunet
