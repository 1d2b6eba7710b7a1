// What a failed run leaves behind: runs.error holds one line while LibTorch's backtrace goes to
// the run's log; a results database locked by another process ends the run after one busy
// timeout with one line naming the file; a dataset refused at the start leaves no run folder and
// no record.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>
#include <vector>

#include "storage/results_db.h"
#include "tests/test_storage_helpers.h"
#include "tests/tiny_run.h"
#include "worker/db_recorder.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Forwards every event to `inner` (if set) and keeps what the trainer reported; `on_epoch` runs
// before an epoch is forwarded, where a test injects its fault.
class Probe : public RunRecorder {
 public:
  RunRecorder* inner = nullptr;
  std::function<void()> on_epoch;
  bool started_called = false;
  std::vector<std::string> errors;  // finished()'s error, once per call

  void started(const RunStart& s) override {
    started_called = true;
    if (inner) inner->started(s);
  }
  void epoch(const std::string& key, const EpochRecord& r) override {
    if (on_epoch) on_epoch();
    if (inner) inner->epoch(key, r);
  }
  void metric(const std::string& key, const std::string& split, const std::string& name,
              double v) override {
    if (inner) inner->metric(key, split, name, v);
  }
  void case_metric(const std::string& key, const std::string& split, const std::string& c,
                   const std::string& name, double v) override {
    if (inner) inner->case_metric(key, split, c, name, v);
  }
  void evaluation(const std::string& key, int64_t epoch, const std::string& split,
                  const std::string& name, double v) override {
    if (inner) inner->evaluation(key, epoch, split, name, v);
  }
  void artifact(const std::string& key, const std::string& kind, const std::string& path,
                const std::string& sha256) override {
    if (inner) inner->artifact(key, kind, path, sha256);
  }
  void artifact_removed(const std::string& key, const std::string& path) override {
    if (inner) inner->artifact_removed(key, path);
  }
  void finished(const std::string& key, const std::string& status,
                const std::string& error) override {
    errors.push_back(error);
    if (inner) inner->finished(key, status, error);
  }
};

class TrainFailures : public ::testing::Test {
 protected:
  test::TempDir dir;
  const std::string runs = dir / "runs";
  const nlohmann::json config = test::tiny_run_config(dir / "data.h5", "binary", 1);
};

TEST_F(TrainFailures, RunsErrorIsOneLineAndTheBacktraceGoesToTheLog) {
  std::ostringstream log;
  spdlog::default_logger()->sinks().push_back(
      std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
  Probe probe;
  probe.on_epoch = [] { TORCH_CHECK(false, "the disk is on fire"); };
  auto req = test::train_request(config, runs);
  req.recorder = &probe;
  std::string full, message;
  try {
    train_run(req);
  } catch (const c10::Error& e) {
    full = e.what();
    message = e.what_without_backtrace();
  }
  spdlog::default_logger()->sinks().pop_back();

  ASSERT_EQ(message, "the disk is on fire");
  ASSERT_NE(full.find('\n'), std::string::npos) << "LibTorch added no backtrace to test with";
  ASSERT_EQ(probe.errors.size(), 1u);
  EXPECT_EQ(probe.errors[0], message);
  EXPECT_NE(log.str().find(full), std::string::npos) << log.str();
}

// The lock is taken while the run trains, so the first write to fail is an epoch's; the failure
// is not written afterwards, which would wait out a second busy timeout.
TEST_F(TrainFailures, LockedDatabaseFailsAfterOneBusyTimeoutWithOneLine) {
  const std::string path = dir / "r.db";
  ResultsDb db(path, ResultsDb::Mode::read_write, 2000);
  DbRecorder recorder(db);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  Clock::time_point locked;
  Probe probe;
  probe.inner = &recorder;
  probe.on_epoch = [&] {
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    locked = Clock::now();
  };
  auto req = test::train_request(config, runs);
  req.recorder = &probe;
  const std::string message = test::error_of([&] { train_run(req); });
  const double waited = std::chrono::duration<double>(Clock::now() - locked).count();
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);

  EXPECT_EQ(message, path +
                         " is locked by another process (waited 2 s); stop that process or use "
                         "another --db");
  EXPECT_LT(waited, 3.5);
  EXPECT_TRUE(probe.errors.empty());
}

TEST_F(TrainFailures, RefusedDatasetLeavesNoRunFolderAndNoRecord) {
  fs::create_directories(dir / "folder.h5");
  for (const std::string& data :
       {dir / "missing.h5", dir / "folder.h5", std::string("/dev/null")}) {
    auto bad = test::tiny_run_config(data, "binary", 1);
    bad["data"]["synthetic"]["if_missing"] = false;
    Probe probe;
    auto req = test::train_request(bad, runs);
    req.recorder = &probe;
    const std::string message = test::error_of([&] { train_run(req); });
    EXPECT_NE(message, "no error") << data;
    EXPECT_FALSE(fs::exists(runs)) << data << ": " << message;
    EXPECT_FALSE(probe.started_called) << data;
  }
}

}  // namespace
}  // namespace vmunet
