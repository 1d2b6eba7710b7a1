// What a failed run leaves behind: runs.error holds one line while LibTorch's backtrace goes to
// the run's log; a dataset refused at the start leaves no run folder and no record.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <sstream>
#include <vector>

#include "tests/test_storage_helpers.h"
#include "tests/tiny_run.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

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
