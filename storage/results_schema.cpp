#include "storage/results_schema.h"

namespace vmunet {

const std::vector<Migration>& results_migrations() {
  static const std::vector<Migration> migrations{
      {1, "sweeps, runs, epochs, metrics, artifacts", R"sql(
CREATE TABLE sweeps (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  spec_json TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  run_key TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL CHECK (status IN
    ('pending', 'running', 'done', 'failed', 'oom', 'diverged', 'preempted')),
  attempt INTEGER NOT NULL DEFAULT 0,
  host TEXT NOT NULL DEFAULT '',
  devices TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  code_version TEXT NOT NULL DEFAULT '',
  environment_json TEXT NOT NULL DEFAULT '{}',
  config_json TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX runs_by_status ON runs(status);
-- A run belongs to every sweep that asks for its configuration (tables share default runs).
CREATE TABLE sweep_runs (
  sweep_id INTEGER NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  PRIMARY KEY (sweep_id, run_id)
);
CREATE TABLE epochs (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL,
  loss REAL NOT NULL,
  lr REAL NOT NULL,
  seconds REAL NOT NULL,
  images_per_s REAL NOT NULL,
  PRIMARY KEY (run_id, epoch)
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, split, name)
);
CREATE TABLE artifacts (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  PRIMARY KEY (run_id, path)
);
)sql"},
      {2, "per-case metrics (Synapse volumes) and run start/finish times", R"sql(
CREATE TABLE cases (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  split TEXT NOT NULL,
  case_name TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, split, case_name, name)
);
ALTER TABLE runs ADD COLUMN started_at TEXT;
ALTER TABLE runs ADD COLUMN finished_at TEXT;
)sql"},
      {3, "every evaluation during training, by epoch", R"sql(
CREATE TABLE evaluations (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  epoch INTEGER NOT NULL,
  split TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_id, epoch, split, name)
);
)sql"},
      {4, "heartbeats: when a run's group was last heard from, and how long silence may last",
       R"sql(
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_timeout_s REAL NOT NULL DEFAULT 0;
)sql"},
  };
  return migrations;
}

int latest_results_schema() { return results_migrations().back().version; }

}  // namespace vmunet
