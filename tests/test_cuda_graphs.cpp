// train.cuda_graph: training steps replayed from a CUDA graph give, bit for bit, the losses (but
// the last bit of the multiclass loss's value, see below) and the parameters of eager steps (with
// drop path, in fp32 and under bf16 autocast, binary and multiclass, with a smaller eager batch
// between replays), and raise the non-finite flag through the graph; `vmunet train` records the
// same losses and metrics with the graph as without. Everywhere: the key is not part of a run's
// identity, and "on" where no graph can run is one clear error that leaves no run behind. The
// forward pass of evaluation and prediction through a graph gives the model's own outputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "model/vmunet.h"
#include "tests/recorded_train.h"
#include "tests/test_storage_helpers.h"
#include "worker/autocast.h"
#include "worker/cuda_graphs.h"
#include "worker/device.h"
#include "worker/gradient_reducer.h"
#include "worker/optimizer.h"
#include "worker/run_config.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

bool on_cuda() { return torch::cuda::is_available(); }

struct Trained {
  std::vector<torch::Tensor> losses, params;
  bool nonfinite = false;
};

// Six steps from fixed seeds on a tiny VM-UNet with drop path; the fourth has a smaller batch.
// With `graph`, the other steps go through CapturedTrainStep (eager, capture, replays).
Trained train_steps(bool graph, Task task, Precision precision, bool end_with_nan = false) {
  const torch::Device cuda(torch::kCUDA);
  torch::manual_seed(3);
  ModelConfig c;
  c.dims = {8, 16, 32, 64};
  c.depths = {2, 2, 2, 2};
  c.depths_decoder = {2, 2, 2, 1};
  c.drop_path_rate = 0.5;
  c.num_classes = task == Task::binary ? 1 : 4;
  set_precision(precision, cuda);
  VMUNet model(c);
  model->to(cuda);
  model->train();
  auto optimizer = make_adamw(model->parameters(), {});
  auto comm = make_local_communicator();
  GradientReducer reducer(model->parameters(), *comm);
  const TrainStepContext ctx{model, *optimizer, reducer, *comm, task, LossWeights{}, precision};
  std::unique_ptr<CapturedTrainStep> graphed;
  if (graph) graphed = std::make_unique<CapturedTrainStep>(ctx);
  const auto opts = torch::TensorOptions().device(cuda);
  auto nonfinite = torch::zeros({}, opts.dtype(torch::kBool));
  Trained t;
  for (int step = 0; step < 6 + end_with_nan; ++step) {
    const int64_t n = step == 3 ? 3 : 4;
    torch::manual_seed(100 + step);
    auto x = torch::rand({n, 3, 64, 64}, opts) * 255.0;
    if (step == 6) x.fill_(std::nan(""));
    const auto y = task == Task::binary
                       ? (torch::rand({n, 1, 64, 64}, opts) > 0.6).to(torch::kFloat)
                       : torch::randint(4, {n, 64, 64}, opts.dtype(torch::kLong));
    torch::manual_seed(200 + step);  // drop path's masks
    const auto loss = graphed && graphed->fits(x, y) ? graphed->step(x, y, nonfinite)
                                                     : train_step(ctx, x, y, 1.0, nonfinite);
    t.losses.push_back(loss.clone());
  }
  for (const auto& p : model->parameters()) t.params.push_back(p.detach().clone());
  t.nonfinite = nonfinite.item<bool>();
  return t;
}

void expect_same_training(Task task, Precision precision) {
  if (!on_cuda()) GTEST_SKIP() << "no CUDA device";
  const auto eager = train_steps(false, task, precision);
  const auto graph = train_steps(true, task, precision);
  ASSERT_EQ(eager.losses.size(), graph.losses.size());
  // The multiclass loss's value is summed across thread blocks by CUDA atomics in cross entropy's
  // forward (its gradient is not): a step's reported loss may differ in its last bit.
  const double ulps = task == Task::multiclass ? 4 * std::numeric_limits<float>::epsilon() : 0;
  for (size_t i = 0; i < eager.losses.size(); ++i)
    EXPECT_TRUE(torch::allclose(eager.losses[i], graph.losses[i], ulps, 0))
        << "step " << i << ": " << eager.losses[i].item<double>() << " vs "
        << graph.losses[i].item<double>();
  EXPECT_FALSE(torch::equal(eager.losses[4], eager.losses[5])) << "the steps train";
  ASSERT_EQ(eager.params.size(), graph.params.size());
  for (size_t i = 0; i < eager.params.size(); ++i)
    EXPECT_TRUE(torch::equal(eager.params[i], graph.params[i]))
        << "parameter " << i << ": largest difference "
        << (eager.params[i] - graph.params[i]).abs().max().item<double>();
  EXPECT_FALSE(graph.nonfinite);
}

TEST(CapturedTrainStep, BinaryFp32SameAsEagerBitForBit) {
  expect_same_training(Task::binary, Precision::fp32);
}

TEST(CapturedTrainStep, BinaryBf16SameAsEagerBitForBit) {
  expect_same_training(Task::binary, Precision::bf16);
}

TEST(CapturedTrainStep, MulticlassFp32SameAsEagerBitForBit) {
  expect_same_training(Task::multiclass, Precision::fp32);
}

TEST(CapturedTrainStep, NonFiniteProbabilitiesRaiseTheFlagThroughTheGraph) {
  if (!on_cuda()) GTEST_SKIP() << "no CUDA device";
  EXPECT_TRUE(train_steps(true, Task::binary, Precision::fp32, true).nonfinite);
}

// Batches of four with another input each time and a batch of three between them, through one
// CapturedForward and through the model itself.
void expect_same_forward(bool bf16) {
  const torch::Device device(on_cuda() ? torch::kCUDA : torch::kCPU);
  torch::manual_seed(3);
  ModelConfig c;
  c.dims = {8, 16, 32, 64};
  c.drop_path_rate = 0.5;  // off in eval mode
  VMUNet model(c);
  model->to(device);
  model->eval();
  torch::NoGradGuard no_grad;
  CapturedForward forward(model, true, bf16);
  EXPECT_EQ(forward.graphed(), on_cuda());
  std::vector<torch::Tensor> outputs;
  for (int call = 0; call < 6; ++call) {
    const auto x = torch::rand({call == 3 ? 3 : 4, 3, 64, 64}, device) * 255.0;
    const auto got = forward(x);
    if (call > 0) {
      EXPECT_FALSE(torch::equal(got, outputs.back())) << "call " << call;
    }
    Bf16Autocast autocast(bf16);
    const auto want = model->forward(x);
    EXPECT_TRUE(torch::equal(got, want))
        << "call " << call << ": largest difference " << (got - want).abs().max().item<double>();
    outputs.push_back(got);
  }
  // Each call's result stays the caller's: later replays do not overwrite it.
  EXPECT_FALSE(torch::equal(outputs[4], outputs[5]));
}

TEST(CapturedForward, SameOutputsAsTheModelBitForBit) { expect_same_forward(false); }

TEST(CapturedForward, SameOutputsAsTheModelUnderBf16Autocast) {
  if (!on_cuda()) GTEST_SKIP() << "bf16 autocast is CUDA's here";
  expect_same_forward(true);
}

TEST(CapturedTrainStep, WhereAGraphCannotRun) {
  EXPECT_NE(cuda_graph_unsupported(torch::Device(torch::kCPU), 1, false), "");
  if (!torch::cuda::is_available()) return;
  const torch::Device cuda(torch::kCUDA);
  EXPECT_EQ(cuda_graph_unsupported(cuda, 1, false), "");
  EXPECT_NE(cuda_graph_unsupported(cuda, 2, false), "");
  EXPECT_NE(cuda_graph_unsupported(cuda, 1, true), "");
}

TEST(CapturedTrainStep, RunConfigKeyAndChoices) {
  const auto resolved = [](const std::string& value) {
    return resolve_run_config(nlohmann::json::object(), {"train.cuda_graph=" + value});
  };
  EXPECT_EQ(parse_run_config(resolve_run_config(nlohmann::json::object())).cuda_graph,
            CudaGraph::automatic);
  EXPECT_EQ(parse_run_config(resolved("on")).cuda_graph, CudaGraph::on);
  EXPECT_EQ(parse_run_config(resolved("off")).cuda_graph, CudaGraph::off);
  EXPECT_EQ(run_key(resolved("on")), run_key(resolved("off")));
  EXPECT_EQ(run_key(resolved("on")), run_key(resolve_run_config(nlohmann::json::object())));
  try {
    parse_run_config(resolved("yes"));
    FAIL() << "train.cuda_graph=yes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.cuda_graph: expected one of"), std::string::npos)
        << e.what();
  }
}

// Two epochs of three steps, the last of each smaller (eager between replays), drop path on.
class CudaGraphCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(tmp.path() / "tiny.json") << R"({
      "model": {"dims": [8, 16, 32, 64], "depths": [1, 1, 1, 1], "depths_decoder": [1, 1, 1, 1],
                "drop_path_rate": 0.3},
      "data": {"path": "tiny.h5", "synthetic": {"if_missing": true, "train": 10, "test": 4}},
      "train": {"epochs": 2, "batch_size": 4, "eval_every": 1, "device": ")"
                                            << (on_cuda() ? "cuda" : "cpu") << R"("}
    })";
  }
  test::TempDir tmp;
  const fs::path& dir = tmp.path();
};

TEST_F(CudaGraphCli, TrainRecordsTheSameLossesAndMetrics) {
  if (!on_cuda()) GTEST_SKIP() << "no CUDA device";
  const auto eager =
      test::train_recorded(dir, "off", "--config tiny.json --set train.cuda_graph=off");
  const auto graph =
      test::train_recorded(dir, "on", "--config tiny.json --set train.cuda_graph=on");
  ASSERT_EQ(eager.epochs.size(), 2u);
  test::expect_same_records(eager, graph);
}

TEST_F(CudaGraphCli, OnWhereNoGraphCanRunIsOneErrorAndNoRun) {
  const auto r = test::run_vmunet(
      "train --config tiny.json --db on.db --out on --set train.device=cpu "
      "--set train.cuda_graph=on",
      dir.string());
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("vmunet: error: train.cuda_graph is on, but "), std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(dir / "on")) << "no run folder";
}

}  // namespace
}  // namespace vmunet
