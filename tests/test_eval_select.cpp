// Every evaluation during training reaches the results database with its epoch, and eval.select
// picks the reported one: the last, or the lowest test loss (also across a resume). The test loss
// does not depend on the evaluation batch size.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "common/error.h"
#include "model/vmunet.h"
#include "storage/dataset_tensors.h"
#include "tests/remove_tree.h"
#include "tests/tiny_run.h"
#include "worker/communicator.h"
#include "worker/data_pipeline.h"
#include "worker/db_recorder.h"
#include "worker/evaluate.h"
#include "worker/losses.h"
#include "worker/trainer.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

class EvalSelect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_eval_select_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { test::remove_tree(dir); }

  nlohmann::json config(const std::string& select) {
    auto c = test::tiny_run_config((dir / "data.h5").string(), "binary", 4);
    c["train"]["eval_every"] = 1;
    c["eval"]["select"] = select;
    return resolve_run_config(c);
  }

  // Trains `cfg` recording into db_name, stopped after `stop_after` epochs then resumed if > 0.
  RunRecord train(const nlohmann::json& cfg, const std::string& db_name, int64_t stop_after = 0) {
    ResultsDb db((dir / db_name).string());
    DbRecorder recorder(db);
    auto req = test::train_request(cfg, (dir / ("runs-" + db_name)).string());
    req.recorder = &recorder;
    if (stop_after > 0) {
      req.stop_after_epochs = stop_after;
      EXPECT_EQ(train_run(req).status, RunStatus::preempted);
      req.stop_after_epochs = 0;
      req.resume = true;
    }
    EXPECT_EQ(train_run(req).status, RunStatus::done);
    return *db.find_run(run_key(cfg));
  }

  // epoch -> name -> value of the recorded evaluations.
  std::map<int64_t, std::map<std::string, double>> evaluations(const std::string& db_name,
                                                               int64_t run_id) {
    ResultsDb db((dir / db_name).string());
    std::map<int64_t, std::map<std::string, double>> out;
    for (const auto& e : db.evaluations(run_id)) {
      EXPECT_EQ(e.split, "test");
      out[e.epoch][e.name] = e.value;
    }
    return out;
  }

  std::map<std::string, double> final_metrics(const std::string& db_name, int64_t run_id) {
    ResultsDb db((dir / db_name).string());
    std::map<std::string, double> out;
    for (const auto& m : db.metrics(run_id)) out[m.name] = m.value;
    return out;
  }

  fs::path dir;
};

TEST_F(EvalSelect, EveryEvaluationIsRecordedAndLastReportsTheFinalOne) {
  const auto run = train(config("last"), "last.db");
  const auto evals = evaluations("last.db", run.id);
  ASSERT_EQ(evals.size(), 4u);
  for (const auto& [epoch, values] : evals) {
    for (const char* name : {"loss", "miou", "dsc", "acc", "spe", "sen", "tp", "fp", "fn", "tn"})
      EXPECT_EQ(values.count(name), 1u) << "epoch " << epoch << " " << name;
    EXPECT_EQ(values.at("tp") + values.at("fp") + values.at("fn") + values.at("tn"),
              16.0 * 64 * 64);
  }
  EXPECT_EQ(final_metrics("last.db", run.id), evals.at(4));
}

TEST_F(EvalSelect, MinTestLossReportsTheLowestLossEvaluationAlsoAfterAResume) {
  const auto cfg = config("min_test_loss");
  const auto run = train(cfg, "whole.db");
  const auto evals = evaluations("whole.db", run.id);
  ASSERT_EQ(evals.size(), 4u);
  int64_t best = 1;
  for (const auto& [epoch, values] : evals)
    if (values.at("loss") < evals.at(best).at("loss")) best = epoch;
  EXPECT_EQ(final_metrics("whole.db", run.id), evals.at(best));

  // Stopped after epoch 2 (its candidate kept in the run folder), resumed to the end: the same
  // evaluations and the same selection.
  const auto resumed = train(cfg, "split.db", 2);
  EXPECT_EQ(evaluations("split.db", resumed.id), evals);
  EXPECT_EQ(final_metrics("split.db", resumed.id), evals.at(best));
}

TEST_F(EvalSelect, TestLossIsTheMeanOverTestSamplesWhateverTheBatch) {
  const auto cfg = parse_run_config(config("last"));
  train(config("last"), "data.db");  // writes the synthetic dataset
  const auto data = load_dataset_tensors(cfg.data_path, torch::kCPU);
  torch::manual_seed(0);
  VMUNet model(cfg.model);
  auto local = make_local_communicator();
  const auto x = network_input(data.test.images, data.meta.test_norm, Task::binary);
  const LossWeights w{1.0, 1.0};
  const double whole =
      evaluate_binary(model, x, data.test.masks, 0.5, 16, *local, w).metrics.at("loss");
  torch::NoGradGuard no_grad;
  model->eval();
  const double direct = bce_dice_loss(model->output(model->forward(x)),
                                      network_target(data.test.masks, Task::binary), w)
                            .item<double>();
  EXPECT_NEAR(whole, direct, 1e-6);
  EXPECT_NEAR(evaluate_binary(model, x, data.test.masks, 0.5, 5, *local, w).metrics.at("loss"),
              whole, 1e-6);
}

TEST(EvalSelectConfig, MinTestLossNeedsABinaryTask) {
  auto c = test::tiny_run_config("unused.h5", "multiclass", 1);
  c["eval"]["select"] = "min_test_loss";
  try {
    resolve_run_config(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("eval.select: min_test_loss needs a binary task"),
              std::string::npos)
        << e.what();
  }
  c["eval"]["select"] = "best";
  EXPECT_THROW(resolve_run_config(c), Error);
}

}  // namespace
}  // namespace vmunet
