#include "storage/results_db.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "common/error.h"
#include "storage/results_schema.h"
#include "storage/sqlite_util.h"

namespace vmunet {
namespace {

constexpr const char* kStatusNames[] = {"pending", "running",  "done",     "failed",
                                        "oom",     "diverged", "preempted"};

const char* const kRunColumns =
    "id, run_key, status, attempt, host, devices, error, code_version, environment_json, "
    "config_json, COALESCE(started_at, ''), COALESCE(finished_at, ''), updated_at";

RunRecord run_from_row(const sql::Statement& row) {
  RunRecord run;
  run.id = row.column_int(0);
  run.run_key = row.column_text(1);
  run.status = parse_run_status(row.column_text(2));
  run.attempt = row.column_int(3);
  run.host = row.column_text(4);
  run.devices = row.column_text(5);
  run.error = row.column_text(6);
  run.code_version = row.column_text(7);
  run.environment_json = row.column_text(8);
  run.config_json = row.column_text(9);
  run.started_at = row.column_text(10);
  run.finished_at = row.column_text(11);
  run.updated_at = row.column_text(12);
  return run;
}

void check_json(const std::string& text, const std::string& what, const std::string& run_key) {
  if (!nlohmann::json::accept(text))
    throw Error("run " + run_key + ": " + what + " is not valid JSON");
}

void check_finite(double value, const std::string& what) {
  if (!std::isfinite(value)) throw Error(what + " is " + std::to_string(value) + ", not finite");
}

}  // namespace

const char* run_status_name(RunStatus status) { return kStatusNames[static_cast<int>(status)]; }

RunStatus parse_run_status(const std::string& text) {
  for (int i = 0; i < 7; ++i)
    if (text == kStatusNames[i]) return static_cast<RunStatus>(i);
  throw Error("unknown run status '" + text +
              "' (pending, running, done, failed, oom, diverged, preempted)");
}

ResultsDb::ResultsDb(const std::string& path, Mode mode, int busy_timeout_ms)
    : path_(path), mode_(mode) {
  const int flags =
      mode == Mode::read_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  const int status = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (status != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(status);
    sqlite3_close(db_);
    throw Error(path + ": cannot open the results database: " + message);
  }
  try {
    VMUNET_SQLITE(db_, sqlite3_busy_timeout(db_, busy_timeout_ms), "setting the busy timeout");
    sql::execute(db_, "PRAGMA foreign_keys = ON", "enabling foreign keys");
    const int version = schema_version();
    if (version > latest_results_schema())
      throw Error(path + ": results database schema version " + std::to_string(version) +
                  " was written by a newer vmunet (this one knows up to version " +
                  std::to_string(latest_results_schema()) +
                  "); upgrade vmunet or use another --db");
    if (mode == Mode::read_only) {
      if (version < latest_results_schema())
        throw Error(path + ": results database schema version " + std::to_string(version) +
                    " is older than this vmunet's " + std::to_string(latest_results_schema()) +
                    "; open it once for writing (e.g. vmunet train --db) to migrate it");
      return;
    }
    {
      sql::Statement wal(db_, "PRAGMA journal_mode = WAL");
      if (!wal.step() || wal.column_text(0) != "wal")
        throw Error(path + ": cannot switch the results database to WAL mode (" +
                    wal.column_text(0) + "); is it on a network file system?");
    }
    sql::execute(db_, "PRAGMA synchronous = NORMAL", "setting synchronous mode");
    migrate();
  } catch (...) {
    statements_.clear();
    sqlite3_close(db_);
    throw;
  }
}

ResultsDb::~ResultsDb() {
  statements_.clear();  // finalised before the connection closes
  sqlite3_close(db_);
}

int ResultsDb::schema_version() {
  sql::Statement query(db_, "PRAGMA user_version");
  query.step();
  return static_cast<int>(query.column_int(0));
}

void ResultsDb::migrate() {
  if (schema_version() == latest_results_schema()) return;
  // BEGIN IMMEDIATE takes the write lock first, so two processes opening a new database cannot
  // both migrate it; the version is read again under the lock.
  transaction([&] {
    const int current = schema_version();
    for (const Migration& migration : results_migrations()) {
      if (migration.version <= current) continue;
      sql::execute(db_, migration.sql,
                   "migrating the results schema to version " + std::to_string(migration.version) +
                       " (" + migration.description + ")");
      sql::execute(db_, "PRAGMA user_version = " + std::to_string(migration.version),
                   "recording schema version " + std::to_string(migration.version));
    }
  });
}

void ResultsDb::transaction(const std::function<void()>& body) {
  if (!sqlite3_get_autocommit(db_)) {  // already inside one
    body();
    return;
  }
  sql::execute(db_, mode_ == Mode::read_write ? "BEGIN IMMEDIATE" : "BEGIN",
               "starting a transaction");
  try {
    body();
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);  // best effort; rethrow the cause
    throw;
  }
  sql::execute(db_, "COMMIT", "committing a transaction");
}

sql::Statement& ResultsDb::statement(const char* sql) {
  auto& slot = statements_[sql];
  if (!slot) slot = std::make_unique<sql::Statement>(db_, sql);
  slot->reset();
  return *slot;
}

int64_t ResultsDb::ensure_sweep(const std::string& name, const std::string& spec_json) {
  if (!nlohmann::json::accept(spec_json)) throw Error("sweep " + name + ": spec is not valid JSON");
  statement("INSERT INTO sweeps (name, spec_json) VALUES (?, ?) ON CONFLICT(name) DO NOTHING")
      .bind(1, name)
      .bind(2, spec_json)
      .run();
  return find_sweep(name)->id;
}

std::optional<SweepRecord> ResultsDb::find_sweep(const std::string& name) {
  auto& query = statement("SELECT id, name, spec_json, created_at FROM sweeps WHERE name = ?");
  query.bind(1, name);
  if (!query.step()) return std::nullopt;
  SweepRecord sweep{query.column_int(0), query.column_text(1), query.column_text(2),
                    query.column_text(3)};
  query.reset();  // an unfinished SELECT would hold its read snapshot open
  return sweep;
}

std::vector<SweepRecord> ResultsDb::sweeps() {
  auto& query = statement("SELECT id, name, spec_json, created_at FROM sweeps ORDER BY name");
  std::vector<SweepRecord> rows;
  while (query.step())
    rows.push_back(
        {query.column_int(0), query.column_text(1), query.column_text(2), query.column_text(3)});
  return rows;
}

void ResultsDb::add_run_to_sweep(int64_t sweep_id, int64_t run_id) {
  statement("INSERT OR IGNORE INTO sweep_runs (sweep_id, run_id) VALUES (?, ?)")
      .bind(1, sweep_id)
      .bind(2, run_id)
      .run();
}

std::vector<RunRecord> ResultsDb::query_runs(const char* sql, int64_t parameter) {
  auto& query = statement(sql);
  if (parameter >= 0) query.bind(1, parameter);
  std::vector<RunRecord> runs;
  while (query.step()) runs.push_back(run_from_row(query));
  return runs;
}

std::vector<RunRecord> ResultsDb::sweep_runs(int64_t sweep_id) {
  static const std::string sql = std::string("SELECT ") + kRunColumns +
                                 " FROM runs WHERE id IN (SELECT run_id FROM sweep_runs WHERE "
                                 "sweep_id = ?) ORDER BY id";
  return query_runs(sql.c_str(), sweep_id);
}

std::vector<RunRecord> ResultsDb::runs() {
  static const std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id";
  return query_runs(sql.c_str(), -1);
}

std::optional<RunRecord> ResultsDb::find_run(const std::string& run_key) {
  static const std::string sql =
      std::string("SELECT ") + kRunColumns + " FROM runs WHERE run_key = ?";
  auto& query = statement(sql.c_str());
  query.bind(1, run_key);
  if (!query.step()) return std::nullopt;
  RunRecord run = run_from_row(query);
  query.reset();  // an unfinished SELECT would hold its read snapshot open
  return run;
}

int64_t ResultsDb::upsert_run(const RunRecord& run) {
  if (run.run_key.empty()) throw Error(path_ + ": a run needs a run key");
  check_json(run.environment_json, "environment", run.run_key);
  check_json(run.config_json, "config", run.run_key);
  auto& upsert = statement(R"sql(
INSERT INTO runs (run_key, status, attempt, host, devices, error, code_version, environment_json,
                  config_json, started_at, finished_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
        CASE WHEN ?2 = 'pending' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
        CASE WHEN ?2 IN ('pending', 'running') THEN NULL
             ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END)
ON CONFLICT(run_key) DO UPDATE SET
  status = excluded.status, attempt = excluded.attempt, host = excluded.host,
  devices = excluded.devices, error = excluded.error, code_version = excluded.code_version,
  environment_json = excluded.environment_json, config_json = excluded.config_json,
  started_at = CASE WHEN excluded.status = 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                    ELSE started_at END,
  finished_at = CASE WHEN excluded.status IN ('pending', 'running') THEN NULL
                     ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
  updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
)sql");
  upsert.bind(1, run.run_key)
      .bind(2, std::string(run_status_name(run.status)))
      .bind(3, run.attempt)
      .bind(4, run.host)
      .bind(5, run.devices)
      .bind(6, run.error)
      .bind(7, run.code_version)
      .bind(8, run.environment_json)
      .bind(9, run.config_json)
      .run();
  return find_run(run.run_key)->id;
}

void ResultsDb::set_run_status(int64_t run_id, RunStatus status, const std::string& error) {
  auto& update = statement(R"sql(
UPDATE runs SET status = ?2, error = ?3,
  started_at = CASE WHEN ?2 = 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                    ELSE started_at END,
  finished_at = CASE WHEN ?2 IN ('pending', 'running') THEN NULL
                     ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END,
  updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE id = ?1
)sql");
  // One line: LibTorch's messages carry a C++ backtrace after the first, which helps nobody here.
  update.bind(1, run_id)
      .bind(2, std::string(run_status_name(status)))
      .bind(3, error.substr(0, error.find('\n')))
      .run();
  if (sqlite3_changes(db_) != 1)
    throw Error(path_ + ": no run with id " + std::to_string(run_id) + " to set " +
                run_status_name(status));
}

void ResultsDb::record_epoch(int64_t run_id, const EpochRecord& epoch) {
  // A NaN loss is not an epoch to record: the run ends as diverged, with its error text.
  for (const auto& [name, value] : {std::pair{"loss", epoch.loss},
                                    {"lr", epoch.lr},
                                    {"seconds", epoch.seconds},
                                    {"images_per_s", epoch.images_per_s}})
    check_finite(value, "epoch " + std::to_string(epoch.epoch) + " " + name);
  statement(
      "INSERT OR REPLACE INTO epochs (run_id, epoch, loss, lr, seconds, images_per_s) "
      "VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, epoch.epoch)
      .bind(3, epoch.loss)
      .bind(4, epoch.lr)
      .bind(5, epoch.seconds)
      .bind(6, epoch.images_per_s)
      .run();
}

void ResultsDb::record_metric(int64_t run_id, const std::string& split, const std::string& name,
                              double value) {
  check_finite(value, "metric " + split + "/" + name);
  statement("INSERT OR REPLACE INTO metrics (run_id, split, name, value) VALUES (?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, split)
      .bind(3, name)
      .bind(4, value)
      .run();
}

void ResultsDb::record_case(int64_t run_id, const std::string& split, const std::string& case_name,
                            const std::string& name, double value) {
  check_finite(value, "case " + case_name + " metric " + name);
  statement(
      "INSERT OR REPLACE INTO cases (run_id, split, case_name, name, value) "
      "VALUES (?, ?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, split)
      .bind(3, case_name)
      .bind(4, name)
      .bind(5, value)
      .run();
}

void ResultsDb::record_artifact(int64_t run_id, const ArtifactRecord& artifact) {
  statement("INSERT OR REPLACE INTO artifacts (run_id, path, kind, sha256) VALUES (?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, artifact.path)
      .bind(3, artifact.kind)
      .bind(4, artifact.sha256)
      .run();
}

void ResultsDb::record_evaluation(int64_t run_id, const EvaluationRecord& e) {
  check_finite(e.value,
               "evaluation after epoch " + std::to_string(e.epoch) + " " + e.split + "/" + e.name);
  statement(
      "INSERT OR REPLACE INTO evaluations (run_id, epoch, split, name, value) "
      "VALUES (?, ?, ?, ?, ?)")
      .bind(1, run_id)
      .bind(2, e.epoch)
      .bind(3, e.split)
      .bind(4, e.name)
      .bind(5, e.value)
      .run();
}

std::vector<EpochRecord> ResultsDb::epochs(int64_t run_id) {
  auto& query = statement(
      "SELECT epoch, loss, lr, seconds, images_per_s FROM epochs WHERE run_id = ? ORDER BY epoch");
  query.bind(1, run_id);
  std::vector<EpochRecord> rows;
  while (query.step())
    rows.push_back({query.column_int(0), query.column_double(1), query.column_double(2),
                    query.column_double(3), query.column_double(4)});
  return rows;
}

std::vector<MetricRecord> ResultsDb::metrics(int64_t run_id) {
  auto& query =
      statement("SELECT split, name, value FROM metrics WHERE run_id = ? ORDER BY split, name");
  query.bind(1, run_id);
  std::vector<MetricRecord> rows;
  while (query.step())
    rows.push_back({query.column_text(0), query.column_text(1), query.column_double(2)});
  return rows;
}

std::vector<CaseRecord> ResultsDb::cases(int64_t run_id) {
  auto& query = statement(
      "SELECT split, case_name, name, value FROM cases WHERE run_id = ? "
      "ORDER BY split, case_name, name");
  query.bind(1, run_id);
  std::vector<CaseRecord> rows;
  while (query.step())
    rows.push_back(
        {query.column_text(0), query.column_text(1), query.column_text(2), query.column_double(3)});
  return rows;
}

void ResultsDb::remove_artifact(int64_t run_id, const std::string& path) {
  statement("DELETE FROM artifacts WHERE run_id = ? AND path = ?")
      .bind(1, run_id)
      .bind(2, path)
      .run();
}

std::vector<ArtifactRecord> ResultsDb::artifacts(int64_t run_id) {
  auto& query =
      statement("SELECT path, kind, sha256 FROM artifacts WHERE run_id = ? ORDER BY path");
  query.bind(1, run_id);
  std::vector<ArtifactRecord> rows;
  while (query.step())
    rows.push_back({query.column_text(0), query.column_text(1), query.column_text(2)});
  return rows;
}

std::vector<EvaluationRecord> ResultsDb::evaluations(int64_t run_id) {
  auto& query = statement(
      "SELECT epoch, split, name, value FROM evaluations WHERE run_id = ? "
      "ORDER BY epoch, split, name");
  query.bind(1, run_id);
  std::vector<EvaluationRecord> rows;
  while (query.step())
    rows.push_back(
        {query.column_int(0), query.column_text(1), query.column_text(2), query.column_double(3)});
  return rows;
}

}  // namespace vmunet
