// What a failed run leaves behind: a dataset refused at the start leaves no run folder and no
// record.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_storage_helpers.h"
#include "tests/tiny_run.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

// Notes whether the run was recorded as started.
class Probe : public RunRecorder {
 public:
  bool started_called = false;

  void started(const RunStart&) override { started_called = true; }
  void epoch(const std::string&, const EpochRecord&) override {}
  void metric(const std::string&, const std::string&, const std::string&, double) override {}
  void case_metric(const std::string&, const std::string&, const std::string&, const std::string&,
                   double) override {}
  void evaluation(const std::string&, int64_t, const std::string&, const std::string&,
                  double) override {}
  void artifact(const std::string&, const std::string&, const std::string&,
                const std::string&) override {}
  void artifact_removed(const std::string&, const std::string&) override {}
  void finished(const std::string&, const std::string&, const std::string&) override {}
};

class TrainFailures : public ::testing::Test {
 protected:
  test::TempDir dir;
  const std::string runs = dir / "runs";
};

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
