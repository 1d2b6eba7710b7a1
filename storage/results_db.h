// The results database (DESIGN §5), shared by the worker, the launcher's single writer and the
// report. SQLite in WAL mode, so readers (report, status) never block the writer; foreign keys on;
// a busy timeout for the moments a second writer holds the lock; the schema migrated on open.
// One ResultsDb per thread: a connection is not shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace vmunet {

namespace sql {
class Statement;
}

enum class RunStatus { pending, running, done, failed, oom, diverged, preempted };

const char* run_status_name(RunStatus status);
RunStatus parse_run_status(const std::string& text);  // throws Error for an unknown status

struct RunRecord {
  int64_t id = 0;       // assigned by the database
  std::string run_key;  // hash of the resolved config (computed by the sweep layer)
  RunStatus status = RunStatus::pending;
  int64_t attempt = 0;
  std::string host, devices, error;
  std::string code_version;             // vmunet version and git describe
  std::string environment_json = "{}";  // LibTorch version, device name, ... (run_environment.h)
  std::string config_json = "{}";       // the resolved run config
  // UTC ISO-8601, maintained by the database: started_at when a run turns running, finished_at
  // when it leaves pending/running (cleared if it is pending or running again).
  std::string started_at, finished_at, updated_at;
};

struct SweepRecord {
  int64_t id = 0;
  std::string name, spec_json, created_at;
};

struct EpochRecord {
  int64_t epoch = 0;
  double loss = 0, lr = 0, seconds = 0, images_per_s = 0;
};

struct MetricRecord {
  std::string split, name;  // e.g. "test", "dsc" or "dsc/aorta"
  double value = 0;
};

// One metric of one evaluation during training (every train.eval_every epochs and the last).
struct EvaluationRecord {
  int64_t epoch = 0;
  std::string split, name;  // e.g. "test", "loss" or "dsc"
  double value = 0;
};

struct CaseRecord {
  std::string split, case_name, name;  // e.g. "test", "case0001", "hd95/liver"
  double value = 0;
};

struct ArtifactRecord {
  std::string path, kind, sha256;  // kind: "checkpoint", "prediction", ...; sha256: 64 hex digits
};

class ResultsDb {
 public:
  enum class Mode { read_write, read_only };

  // read_write creates the file if needed and migrates an older schema; read_only needs a
  // database at the current schema. A database written by a newer vmunet is refused either way.
  explicit ResultsDb(const std::string& path, Mode mode = Mode::read_write,
                     int busy_timeout_ms = 30000);
  ~ResultsDb();
  ResultsDb(const ResultsDb&) = delete;
  ResultsDb& operator=(const ResultsDb&) = delete;

  const std::string& path() const { return path_; }
  int schema_version();

  // Runs `body` as one transaction: committed when it returns, rolled back if it throws. Nested
  // calls join the outer transaction. Read-write: takes the write lock at once (BEGIN IMMEDIATE);
  // read-only: every query in `body` sees the same snapshot.
  void transaction(const std::function<void()>& body);

  // Sweeps: created once by name; a later call with the same name returns the same id and keeps
  // the spec it was created with.
  int64_t ensure_sweep(const std::string& name, const std::string& spec_json);
  std::optional<SweepRecord> find_sweep(const std::string& name);
  std::vector<SweepRecord> sweeps();  // by name
  void add_run_to_sweep(int64_t sweep_id, int64_t run_id);
  std::vector<RunRecord> sweep_runs(int64_t sweep_id);

  // Inserts the run, or updates every field of the run with the same run_key; returns its id.
  int64_t upsert_run(const RunRecord& run);
  void set_run_status(int64_t run_id, RunStatus status, const std::string& error = "");
  std::optional<RunRecord> find_run(const std::string& run_key);
  std::vector<RunRecord> runs();  // all runs, oldest first

  // Rows are keyed (an epoch, a metric name per split, ...): recording one again replaces it,
  // so a resumed run rewrites what it redoes.
  void record_epoch(int64_t run_id, const EpochRecord& epoch);
  void record_metric(int64_t run_id, const std::string& split, const std::string& name,
                     double value);
  void record_case(int64_t run_id, const std::string& split, const std::string& case_name,
                   const std::string& name, double value);
  void record_artifact(int64_t run_id, const ArtifactRecord& artifact);
  void record_evaluation(int64_t run_id, const EvaluationRecord& evaluation);
  void remove_artifact(int64_t run_id, const std::string& path);

  std::vector<EpochRecord> epochs(int64_t run_id);
  std::vector<MetricRecord> metrics(int64_t run_id);
  std::vector<CaseRecord> cases(int64_t run_id);
  std::vector<ArtifactRecord> artifacts(int64_t run_id);
  std::vector<EvaluationRecord> evaluations(int64_t run_id);  // by epoch, split, name

 private:
  sql::Statement& statement(const char* sql);  // prepared once per connection, reset for reuse
  void migrate();
  std::vector<RunRecord> query_runs(const char* sql, int64_t parameter);

  std::string path_;
  Mode mode_;
  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<sql::Statement>> statements_;
};

}  // namespace vmunet
