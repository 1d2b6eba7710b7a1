// `vmunet train` end to end through the binary: the quickstart config learns (test DSC ≥ 0.85
// recorded in the database), and a diverging run ends `diverged` with one error line.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "storage/results_db.h"
#include "tests/remove_tree.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;
using test::run_vmunet;

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_train_cli_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { test::remove_tree(dir); }
  fs::path dir;
};

// The step budget: 12 epochs × 25 steps of 16 images (400 synthetic 32×32 training images), a
// 1.1M-parameter VM-UNet, CPU: about 50 s of CPU time, under half a minute on 2 idle cores.
TEST_F(TrainCli, QuickstartLearns) {
  const auto r = run_vmunet(std::string("train --config ") + VMUNET_SOURCE_DIR +
                                "/configs/quickstart.json --db r.db --out o",
                            dir.string());
  ASSERT_EQ(r.status, 0) << r.output;
  ResultsDb db((dir / "r.db").string(), ResultsDb::Mode::read_only);
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::done);
  EXPECT_EQ(db.epochs(runs[0].id).size(), 12u);
  double dsc = -1;
  for (const auto& m : db.metrics(runs[0].id))
    if (m.split == "test" && m.name == "dsc") dsc = m.value;
  EXPECT_GE(dsc, 0.85) << r.output;
  EXPECT_EQ(db.artifacts(runs[0].id).size(), 2u);  // the two checkpoints kept, with sha256
}

TEST_F(TrainCli, DivergingRunIsRecordedAndExitsNonZero) {
  std::ofstream(dir / "tiny.json") << R"({
    "model": {"dims": [8, 16, 32, 64], "depths": [1, 1, 1, 1], "depths_decoder": [1, 1, 1, 1]},
    "data": {"path": "tiny.h5", "synthetic": {"if_missing": true, "train": 8, "test": 4}},
    "train": {"epochs": 3, "batch_size": 4, "device": "cpu"},
    "optimizer": {"lr": 1e30}
  })";
  const auto r = run_vmunet("train --config tiny.json --db r.db --out o", dir.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("vmunet: error: run "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ended diverged: loss became"), std::string::npos) << r.output;
  ResultsDb db((dir / "r.db").string(), ResultsDb::Mode::read_only);
  const auto runs = db.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, RunStatus::diverged);
  EXPECT_NE(runs[0].error.find("loss became"), std::string::npos);
}

TEST_F(TrainCli, BadConfigIsOneLineAndNonZero) {
  std::ofstream(dir / "bad.json") << R"({"train": {"epochz": 3}})";
  const auto r = run_vmunet("train --config bad.json", dir.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.output,
            "vmunet: error: bad.json: train.epochz: unknown key (known here: batch_size, "
            "checkpoint_every, cuda_graph, device, epochs, eval_every, init, "
            "max_steps_per_epoch, precision, recompute)\n");
}

}  // namespace
}  // namespace vmunet
