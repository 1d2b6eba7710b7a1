// The SQLite results store: schema creation, migration of a version-1 file, a concurrent reader
// while a writer commits, a newer schema refused, and the API the worker and launcher share.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "common/error.h"
#include "storage/results_db.h"
#include "storage/results_schema.h"
#include "storage/run_environment.h"
#include "test_storage_helpers.h"

namespace vmunet {
namespace {

using test::error_of;

using test::TempDir;

// Raw SQLite access, to inspect or tamper with a file behind the API's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* message = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK) << message;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr);
    std::string value = "(no row)";
    if (sqlite3_step(statement) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(statement, 0);
      value = text ? reinterpret_cast<const char*>(text) : "(null)";
    }
    sqlite3_finalize(statement);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

RunRecord sample_run(const std::string& key) {
  RunRecord run;
  run.run_key = key;
  run.status = RunStatus::running;
  run.attempt = 1;
  run.host = "node7";
  run.devices = "cuda:0,cuda:1";
  run.code_version = code_version();
  run.environment_json = environment_json("cpu");
  run.config_json = R"({"data": {"dataset": "isic17"}, "train": {"epochs": 300}})";
  return run;
}

TEST(ResultsDb, CreatesTheLatestSchemaInWalModeWithForeignKeys) {
  TempDir dir;
  ResultsDb db(dir / "r.db");
  EXPECT_EQ(db.schema_version(), latest_results_schema());
  EXPECT_EQ(latest_results_schema(), 4);
  RawDb raw(dir / "r.db");
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  for (const char* table :
       {"sweeps", "runs", "sweep_runs", "epochs", "metrics", "cases", "artifacts", "evaluations"})
    EXPECT_EQ(raw.text(std::string("SELECT name FROM sqlite_master WHERE name = '") + table + "'"),
              table);
  // Foreign keys are enforced on the API's connection: no rows for runs that do not exist.
  EXPECT_NE(error_of([&] {
              db.record_metric(42, "test", "dsc", 0.9);
            }).find("FOREIGN KEY constraint failed"),
            std::string::npos);
}

TEST(ResultsDb, RunsAreUpsertedByKeyWithTimesKeptByTheDatabase) {
  TempDir dir;
  ResultsDb db(dir / "r.db");
  RunRecord run = sample_run("a1b2c3");
  const int64_t id = db.upsert_run(run);
  RunRecord stored = *db.find_run("a1b2c3");
  EXPECT_EQ(stored.id, id);
  EXPECT_EQ(stored.status, RunStatus::running);
  EXPECT_EQ(stored.devices, "cuda:0,cuda:1");
  EXPECT_EQ(stored.config_json, run.config_json);
  EXPECT_NE(stored.environment_json.find("\"libtorch\""), std::string::npos);
  EXPECT_EQ(stored.code_version.rfind("vmunet ", 0), 0u);
  EXPECT_FALSE(stored.started_at.empty());
  EXPECT_TRUE(stored.finished_at.empty());

  run.status = RunStatus::oom;
  run.error = "CUDA out of memory at batch 32";
  run.attempt = 2;
  EXPECT_EQ(db.upsert_run(run), id);
  stored = *db.find_run("a1b2c3");
  EXPECT_EQ(stored.status, RunStatus::oom);
  EXPECT_EQ(stored.attempt, 2);
  EXPECT_EQ(stored.error, "CUDA out of memory at batch 32");
  EXPECT_FALSE(stored.finished_at.empty());

  db.set_run_status(id, RunStatus::done);
  stored = *db.find_run("a1b2c3");
  EXPECT_EQ(stored.status, RunStatus::done);
  EXPECT_EQ(stored.error, "");
  EXPECT_FALSE(db.find_run("other").has_value());
  EXPECT_EQ(db.runs().size(), 1u);

  run.run_key = "bad";
  run.config_json = "{not json";
  EXPECT_NE(error_of([&] { db.upsert_run(run); }).find("run bad: config is not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([&] { db.set_run_status(999, RunStatus::failed); }).find("no run with id 999"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_run_status("finished"); }).find("unknown run status 'finished'"),
            std::string::npos);
}

TEST(ResultsDb, SweepsShareRuns) {
  TempDir dir;
  ResultsDb db(dir / "r.db");
  const int64_t table1 = db.ensure_sweep("table1", R"({"axes": {}})");
  const int64_t table4 = db.ensure_sweep("table4", R"({"axes": {"model.drop_path": [0, 0.2]}})");
  EXPECT_NE(table1, table4);
  EXPECT_EQ(db.ensure_sweep("table1", R"({"changed": true})"), table1);
  EXPECT_EQ(db.find_sweep("table1")->spec_json, R"({"axes": {}})");
  EXPECT_FALSE(db.find_sweep("table9").has_value());
  const int64_t shared = db.upsert_run(sample_run("shared"));
  const int64_t only4 = db.upsert_run(sample_run("only4"));
  db.add_run_to_sweep(table1, shared);
  db.add_run_to_sweep(table4, shared);
  db.add_run_to_sweep(table4, only4);
  db.add_run_to_sweep(table4, only4);  // idempotent
  ASSERT_EQ(db.sweep_runs(table1).size(), 1u);
  EXPECT_EQ(db.sweep_runs(table1)[0].run_key, "shared");
  EXPECT_EQ(db.sweep_runs(table4).size(), 2u);
}

TEST(ResultsDb, EpochsMetricsCasesEvaluationsAndArtifactsAreKeyedAndReplaced) {
  TempDir dir;
  ResultsDb db(dir / "r.db");
  const int64_t id = db.upsert_run(sample_run("k"));
  db.record_epoch(id, {0, 0.9, 1e-3, 12.5, 80.0});
  db.record_epoch(id, {1, 0.7, 9.9e-4, 12.0, 83.0});
  db.record_epoch(id, {1, 0.65, 9.9e-4, 11.0, 90.0});  // a resumed run redoes epoch 1
  const auto epochs = db.epochs(id);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_DOUBLE_EQ(epochs[1].loss, 0.65);
  EXPECT_DOUBLE_EQ(epochs[1].images_per_s, 90.0);

  db.record_metric(id, "test", "dsc", 0.89);
  db.record_metric(id, "test", "dsc/aorta", 0.87);
  db.record_metric(id, "test", "dsc", 0.9);
  const auto metrics = db.metrics(id);
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].name, "dsc");
  EXPECT_DOUBLE_EQ(metrics[0].value, 0.9);

  db.record_case(id, "test", "case0001", "hd95/liver", 4.5);
  db.record_case(id, "test", "case0002", "hd95/liver", 7.25);
  const auto cases = db.cases(id);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[1].case_name, "case0002");
  EXPECT_DOUBLE_EQ(cases[1].value, 7.25);

  db.record_evaluation(id, {30, "test", "dsc", 0.71});
  db.record_evaluation(id, {60, "test", "dsc", 0.80});
  db.record_evaluation(id, {30, "test", "loss", 0.41});
  db.record_evaluation(id, {30, "test", "dsc", 0.72});  // a resumed run evaluates epoch 30 again
  const auto evaluations = db.evaluations(id);
  ASSERT_EQ(evaluations.size(), 3u);
  EXPECT_EQ(evaluations[0].epoch, 30);
  EXPECT_EQ(evaluations[0].name, "dsc");
  EXPECT_DOUBLE_EQ(evaluations[0].value, 0.72);
  EXPECT_EQ(evaluations[1].name, "loss");
  EXPECT_EQ(evaluations[2].epoch, 60);
  EXPECT_NE(error_of([&] {
              db.record_evaluation(id, {90, "test", "dsc", NAN});
            }).find("evaluation after epoch 90 test/dsc is nan, not finite"),
            std::string::npos);

  const std::string sha(64, 'a');
  db.record_artifact(id, {"runs/k/best.pt", "checkpoint", sha});
  ASSERT_EQ(db.artifacts(id).size(), 1u);
  EXPECT_EQ(db.artifacts(id)[0].kind, "checkpoint");
  EXPECT_NE(error_of([&] {
              db.record_artifact(id, {"x", "checkpoint", "abc"});
            }).find("CHECK constraint failed"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              db.record_metric(id, "test", "hd95", NAN);
            }).find("metric test/hd95 is nan, not finite"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              db.record_epoch(id, {2, INFINITY, 1e-3, 1, 1});
            }).find("epoch 2 loss is inf, not finite"),
            std::string::npos);
}

TEST(ResultsDb, ATransactionRollsBackWhenItsBodyThrows) {
  TempDir dir;
  ResultsDb db(dir / "r.db");
  const int64_t id = db.upsert_run(sample_run("k"));
  EXPECT_THROW(db.transaction([&] {
    db.record_metric(id, "test", "dsc", 0.5);
    db.transaction([&] { db.record_metric(id, "test", "acc", 0.9); });  // joins the outer one
    throw Error("evaluation failed");
  }),
               Error);
  EXPECT_TRUE(db.metrics(id).empty());
  db.transaction([&] { db.record_metric(id, "test", "dsc", 0.5); });
  EXPECT_EQ(db.metrics(id).size(), 1u);
}

TEST(ResultsDb, MigratesAVersionOneDatabaseKeepingItsRows) {
  TempDir dir;
  {
    RawDb raw(dir / "old.db");
    raw.exec(results_migrations().front().sql);
    raw.exec("PRAGMA user_version = 1");
    raw.exec(
        "INSERT INTO runs (run_key, status, config_json) VALUES ('old', 'done', '{}');"
        "INSERT INTO metrics VALUES (1, 'test', 'dsc', 0.88)");
  }
  ResultsDb db(dir / "old.db");
  EXPECT_EQ(db.schema_version(), latest_results_schema());
  const RunRecord run = *db.find_run("old");
  EXPECT_EQ(run.status, RunStatus::done);
  EXPECT_EQ(run.started_at, "");  // a column version 1 did not have
  ASSERT_EQ(db.metrics(run.id).size(), 1u);
  EXPECT_DOUBLE_EQ(db.metrics(run.id)[0].value, 0.88);
  db.record_case(run.id, "test", "case0001", "dsc/liver", 0.95);  // version 2's table
  EXPECT_EQ(db.cases(run.id).size(), 1u);
  db.record_evaluation(run.id, {30, "test", "dsc", 0.81});  // version 3's table
  EXPECT_EQ(db.evaluations(run.id).size(), 1u);
}

TEST(ResultsDb, ReadOnlyOpeningNeedsTheCurrentSchema) {
  TempDir dir;
  {
    RawDb raw(dir / "old.db");
    raw.exec(results_migrations().front().sql);
    raw.exec("PRAGMA user_version = 1");
  }
  EXPECT_NE(error_of([&] { ResultsDb(dir / "old.db", ResultsDb::Mode::read_only); })
                .find("schema version 1 is older than this vmunet's " +
                      std::to_string(latest_results_schema())),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              ResultsDb(dir / "absent.db", ResultsDb::Mode::read_only);
            }).find("absent.db: cannot open the results database"),
            std::string::npos);
}

TEST(ResultsDb, ADatabaseFromANewerVersionIsRefused) {
  TempDir dir;
  { ResultsDb(dir / "r.db"); }
  const int latest = latest_results_schema();
  { RawDb(dir / "r.db").exec("PRAGMA user_version = " + std::to_string(latest + 1)); }
  for (auto mode : {ResultsDb::Mode::read_write, ResultsDb::Mode::read_only})
    EXPECT_NE(error_of([&] { ResultsDb(dir / "r.db", mode); })
                  .find("r.db: results database schema version " + std::to_string(latest + 1) +
                        " was written by a newer vmunet (this one knows up to version " +
                        std::to_string(latest) + "); upgrade vmunet or use another --db"),
              std::string::npos);
}

TEST(ResultsDb, NotADatabaseIsRefused) {
  TempDir dir;
  test::write_bytes(dir / "text.db", std::vector<uint8_t>(4096, 'x'));
  EXPECT_NE(error_of([&] { ResultsDb(dir / "text.db"); }).find("file is not a database"),
            std::string::npos);
}

TEST(ResultsDb, AReaderKeepsItsSnapshotWhileAWriterCommits) {
  TempDir dir;
  ResultsDb writer(dir / "r.db");
  const int64_t id = writer.upsert_run(sample_run("k"));
  writer.record_metric(id, "test", "dsc", 0.8);
  ResultsDb reader(dir / "r.db", ResultsDb::Mode::read_only);
  reader.transaction([&] {
    EXPECT_EQ(reader.metrics(id).size(), 1u);
    writer.record_metric(id, "test", "acc", 0.95);  // commits while the reader is mid-read
    EXPECT_EQ(reader.metrics(id).size(), 1u);
  });
  EXPECT_EQ(reader.metrics(id).size(), 2u);
}

TEST(ResultsDb, ReadersSeeOnlyWholeTransactionsWhileAWriterCommits) {
  TempDir dir;
  ResultsDb writer(dir / "r.db");
  const int64_t id = writer.upsert_run(sample_run("k"));
  constexpr int kBatches = 150, kPerBatch = 4;
  std::atomic<bool> done{false}, reader_ready{false};
  std::string reader_failure;
  std::atomic<int> reads{0};
  std::thread reader_thread([&] {
    try {
      ResultsDb reader(dir / "r.db", ResultsDb::Mode::read_only);
      size_t last = 0;
      while (!done) {
        const size_t count = reader.metrics(id).size();
        if (count % kPerBatch != 0 || count < last)
          reader_failure =
              "saw " + std::to_string(count) + " metrics after " + std::to_string(last);
        last = count;
        ++reads;
        reader_ready = true;
      }
    } catch (const std::exception& error) {
      reader_failure = error.what();
      reader_ready = true;
    }
  });
  // The writer starts once the reader is reading, so the two really overlap.
  while (!reader_ready) std::this_thread::yield();
  for (int b = 0; b < kBatches; ++b)
    writer.transaction([&] {
      for (int m = 0; m < kPerBatch; ++m)
        writer.record_metric(id, "test", "m" + std::to_string(b * kPerBatch + m), b);
    });
  done = true;
  reader_thread.join();
  EXPECT_EQ(reader_failure, "");
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(writer.metrics(id).size(), static_cast<size_t>(kBatches * kPerBatch));
}

TEST(ResultsDb, RotatedArtifactsAreRemovedAndErrorsKeepOneLine) {
  TempDir dir;
  ResultsDb db(dir / "r.db");
  const int64_t id = db.upsert_run(sample_run("k"));
  const std::string sha(64, 'a');
  db.record_artifact(id, {"runs/k/ckpt-00001.pt", "checkpoint", sha});
  db.record_artifact(id, {"runs/k/ckpt-00002.pt", "checkpoint", sha});
  db.remove_artifact(id, "runs/k/ckpt-00001.pt");
  ASSERT_EQ(db.artifacts(id).size(), 1u);
  EXPECT_EQ(db.artifacts(id)[0].path, "runs/k/ckpt-00002.pt");

  db.set_run_status(id, RunStatus::failed,
                    "Invalid argument\nException raised from foo at bar.cpp:1\nframe #0: baz");
  EXPECT_EQ(db.find_run("k")->error, "Invalid argument");
}

TEST(ResultsDb, AWriterLockedOutSaysSoBriefly) {
  TempDir dir;
  ResultsDb db(dir / "r.db", ResultsDb::Mode::read_write, 100);
  const int64_t id = db.upsert_run(sample_run("k"));
  RawDb other(dir / "r.db");
  other.exec("BEGIN IMMEDIATE");
  const std::string message = error_of([&] { db.set_run_status(id, RunStatus::done); });
  EXPECT_EQ(message, (dir / "r.db") +
                         " is locked by another process (waited 0.1 s); stop that process or use "
                         "another --db");
  other.exec("ROLLBACK");
  // A reader with a busy timeout opens and reads while the writer holds its lock.
  other.exec("BEGIN IMMEDIATE");
  ResultsDb reader(dir / "r.db", ResultsDb::Mode::read_only);
  EXPECT_EQ(reader.runs().size(), 1u);
  other.exec("ROLLBACK");
}

}  // namespace
}  // namespace vmunet
