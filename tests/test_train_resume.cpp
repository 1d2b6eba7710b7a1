// A run stopped (after epoch k, mid-epoch, or by its stop flag) and resumed from its checkpoint
// ends with the same weights and epoch losses as an uninterrupted run (CPU, one rank); damaged
// checkpoints are skipped for the previous one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/error.h"
#include "model/vmunet.h"
#include "tests/final_weights.h"
#include "tests/remove_tree.h"
#include "tests/tiny_run.h"
#include "worker/checkpoint.h"
#include "worker/optimizer.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

class TrainResume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_resume_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { test::remove_tree(dir); }

  fs::path dir;
};

TEST_F(TrainResume, StoppedAndResumedEqualsUninterrupted) {
  const auto config = test::tiny_run_config((dir / "data.h5").string(), "binary", 4);
  auto whole = test::train_request(config, (dir / "whole").string());
  ASSERT_EQ(train_run(whole).status, RunStatus::done);

  auto first = test::train_request(config, (dir / "split").string());
  first.stop_after_epochs = 2;
  const auto stopped = train_run(first);
  ASSERT_EQ(stopped.status, RunStatus::preempted);
  ASSERT_EQ(stopped.epochs, 2);
  auto rest = test::train_request(config, (dir / "split").string(), true);
  const auto resumed = train_run(rest);
  ASSERT_EQ(resumed.status, RunStatus::done);
  EXPECT_EQ(resumed.epochs, 4);

  const auto a = test::final_weights(config, dir / "whole");
  const auto b = test::final_weights(config, dir / "split");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

// Keeps each epoch's loss; raises `stop` once epoch `stop_at` (1-based) is recorded, the way a
// signal handler would while the run goes on.
class EpochLosses : public RunRecorder {
 public:
  std::map<int64_t, double> loss;
  std::atomic<bool>* stop = nullptr;
  int64_t stop_at = 0;

  void started(const RunStart&) override {}
  void epoch(const std::string&, const EpochRecord& r) override {
    loss[r.epoch] = r.loss;
    if (stop && r.epoch == stop_at) stop->store(true);
  }
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

// Stopped mid-epoch (after 4 of 3 × 3 steps, so at step 1 of epoch 2), then by the stop flag at
// the start of epoch 3, and resumed each time: the weights and every epoch's loss equal those of
// the uninterrupted run, and the epochs continue.
TEST_F(TrainResume, StopFlagAndMidEpochStopResumeExactly) {
  auto config = test::tiny_run_config((dir / "data.h5").string(), "binary", 3);
  config["train"]["max_steps_per_epoch"] = 3;
  config["model"]["drop_path_rate"] = 0.2;  // randomness of its own at every step
  EpochLosses whole_log;
  auto whole = test::train_request(config, (dir / "whole").string());
  whole.recorder = &whole_log;
  ASSERT_EQ(train_run(whole).status, RunStatus::done);
  ASSERT_EQ(whole_log.loss.size(), 3u);

  EpochLosses split_log;
  auto first = test::train_request(config, (dir / "split").string());
  first.recorder = &split_log;
  first.stop_after_steps = 4;
  const auto stopped = train_run(first);
  ASSERT_EQ(stopped.status, RunStatus::preempted);
  EXPECT_EQ(stopped.epochs, 1);
  {
    VMUNet model(parse_run_config(config).model);
    auto opt = make_adamw(model->parameters(), {});
    const auto ckpt = load_latest_checkpoint(
        (dir / "split" / run_key(config) / "checkpoints").string(), *model, *opt);
    ASSERT_TRUE(ckpt.has_value());
    EXPECT_EQ(ckpt->epoch, 1);
    EXPECT_EQ(ckpt->state["progress"]["step"], 1) << ckpt->state.dump();
  }

  std::atomic<bool> stop{false};
  split_log.stop = &stop;
  split_log.stop_at = 2;
  auto second = test::train_request(config, (dir / "split").string(), true);
  second.recorder = &split_log;
  second.stop = &stop;
  const auto flagged = train_run(second);
  ASSERT_EQ(flagged.status, RunStatus::preempted);
  EXPECT_EQ(flagged.epochs, 2);

  auto rest = test::train_request(config, (dir / "split").string(), true);
  rest.recorder = &split_log;
  const auto resumed = train_run(rest);
  ASSERT_EQ(resumed.status, RunStatus::done);
  EXPECT_EQ(resumed.epochs, 3);

  EXPECT_EQ(split_log.loss, whole_log.loss);
  const auto a = test::final_weights(config, dir / "whole");
  const auto b = test::final_weights(config, dir / "split");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

TEST_F(TrainResume, RefusesToOverwriteAnExistingRunWithoutResume) {
  const auto config = test::tiny_run_config((dir / "data.h5").string(), "binary", 1);
  auto req = test::train_request(config, (dir / "runs").string(), false);
  ASSERT_EQ(train_run(req).status, RunStatus::done);
  try {
    train_run(req);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
}

TEST_F(TrainResume, DamagedNewestCheckpointFallsBackToThePreviousOne) {
  torch::manual_seed(1);
  ModelConfig mc;
  mc.dims = {8, 16, 32, 64};
  VMUNet model(mc);
  auto opt = make_adamw(model->parameters(), {});
  const auto ckpt_dir = (dir / "ckpt").string();
  save_checkpoint(ckpt_dir, 1, *model, *opt, {{"note", "one"}});
  const auto saved = model->parameters()[0].clone();
  {
    torch::NoGradGuard g;
    model->parameters()[0].add_(1.0);
  }
  save_checkpoint(ckpt_dir, 2, *model, *opt, {{"note", "two"}});
  // Flip a byte in the middle of the newest checkpoint.
  const auto newest = fs::path(ckpt_dir) / "ckpt-00002.pt";
  std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(fs::file_size(newest) / 2));
  f.put('\x5a');
  f.close();

  VMUNet fresh(mc);
  auto opt2 = make_adamw(fresh->parameters(), {});
  const auto info = load_latest_checkpoint(ckpt_dir, *fresh, *opt2);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->epoch, 1);
  EXPECT_EQ(info->state["note"], "one");
  EXPECT_TRUE(torch::equal(fresh->parameters()[0], saved));
}

}  // namespace
}  // namespace vmunet
