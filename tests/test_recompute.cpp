// Activation recomputation per VSS block (train.recompute = blocks) changes memory, not numbers.
// On a tiny VM-UNet in training mode with drop path: the loss, every parameter gradient and the
// random numbers drawn after the backward pass equal, bit for bit, those without recomputation,
// in fp32 and under bf16 autocast; the forward pass keeps no graph inside the blocks and holds far
// less memory; the data-parallel reducer's hooks see each gradient once, in the same order; and
// `vmunet train --set train.recompute=blocks` records the same epoch loss and test metrics.
#include <gtest/gtest.h>
#include <malloc.h>
#include <torch/torch.h>

#include <ATen/autocast_mode.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "model/recompute.h"
#include "model/vmunet.h"
#include "tests/recorded_train.h"
#include "tests/remove_tree.h"
#include "tests/tiny_run.h"
#include "worker/autocast.h"
#include "worker/gradient_reducer.h"
#include "worker/losses.h"

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define VMUNET_AUTOCAST_PER_DEVICE 1
#endif

namespace vmunet {
namespace {
namespace fs = std::filesystem;

torch::Device device() { return torch::Device(test::test_device()); }

// Two VSS blocks per stage (a block fed by a block, and one whose input is also a skip), drop
// path at every block but the first.
ModelConfig tiny_model() {
  ModelConfig c;
  c.dims = {8, 16, 32, 64};
  c.depths = {2, 2, 2, 2};
  c.depths_decoder = {2, 2, 2, 1};
  c.drop_path_rate = 0.5;
  return c;
}
constexpr int kBlocks = 15;  // Σ depths + Σ depths_decoder

bool cuda_autocast_enabled() {
#ifdef VMUNET_AUTOCAST_PER_DEVICE
  return at::autocast::is_autocast_enabled(at::kCUDA);
#else
  return at::autocast::is_enabled();
#endif
}

// bf16 autocast for the forward pass: the trainer's (CUDA) on a GPU; on the CPU, where that one
// casts nothing, LibTorch's CPU autocast to bf16, so that the recomputation must re-enter it too.
class Bf16Forward {
 public:
  explicit Bf16Forward(bool on) : on_cpu_(on && !device().is_cuda()), cuda_(on && !on_cpu_) {
    if (!on_cpu_) return;
#ifdef VMUNET_AUTOCAST_PER_DEVICE
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
#else
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~Bf16Forward() {
    if (!on_cpu_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#ifdef VMUNET_AUTOCAST_PER_DEVICE
    at::autocast::set_autocast_enabled(at::kCPU, false);
#else
    at::autocast::set_cpu_enabled(false);
#endif
  }

 private:
  bool on_cpu_;
  Bf16Autocast cuda_;
};

struct Pass {
  torch::Tensor logits, loss, next_draw;
  std::vector<std::string> names;
  std::vector<torch::Tensor> grads;
};

// One training step's forward and backward from fixed seeds, as the trainer runs it: the forward
// under autocast, the loss and the backward pass outside.
Pass train_pass(bool recompute, bool bf16, uint64_t drop_path_seed = 7) {
  torch::manual_seed(3);
  VMUNet model(tiny_model());
  model->to(device());
  model->set_recompute(recompute);
  model->train();
  const auto opts = torch::TensorOptions().device(device());
  const auto x = torch::rand({4, 3, 64, 64}, opts) * 255.0;
  const auto y = (torch::rand({4, 1, 64, 64}, opts) > 0.6).to(torch::kFloat);
  torch::manual_seed(drop_path_seed);
  Pass p;
  {
    Bf16Forward autocast(bf16);
    p.logits = model->forward(x).to(torch::kFloat);
  }
  p.loss = bce_dice_loss(model->output(p.logits), y);
  p.loss.backward();
  p.next_draw = torch::rand({8}, opts);
  for (const auto& item : model->named_parameters()) {
    p.names.push_back(item.key());
    p.grads.push_back(item.value().grad());
  }
  return p;
}

void expect_same_step(const Pass& plain, const Pass& re) {
  EXPECT_TRUE(torch::equal(plain.logits, re.logits));
  EXPECT_TRUE(torch::equal(plain.loss, re.loss))
      << plain.loss.item<double>() << " vs " << re.loss.item<double>();
  EXPECT_TRUE(torch::equal(plain.next_draw, re.next_draw)) << "random stream after backward";
  ASSERT_EQ(plain.grads.size(), re.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    ASSERT_TRUE(re.grads[i].defined()) << plain.names[i];
    EXPECT_TRUE(torch::equal(plain.grads[i], re.grads[i]))
        << plain.names[i] << ": largest difference "
        << (plain.grads[i] - re.grads[i]).abs().max().item<double>();
  }
}

TEST(Recompute, SameLossAndGradientsBitForBitWithDropPath) {
  const auto plain = train_pass(false, false);
  const auto re = train_pass(true, false);
  expect_same_step(plain, re);
  // Drop path's masks matter: other ones give other logits.
  EXPECT_FALSE(torch::equal(plain.logits, train_pass(false, false, 8).logits));
}

TEST(Recompute, SameLossAndGradientsBitForBitUnderBf16Autocast) {
  Pass plain;
  try {
    plain = train_pass(false, true);
  } catch (const c10::Error& e) {
    if (device().is_cuda()) throw;
    GTEST_SKIP()
        << "this LibTorch cannot run the network under CPU bf16 autocast (its CPU "
           "LayerNorm takes no bf16 input with fp32 weights); the recomputation's "
           "autocast re-entry is tested on its own in ReentersTheForwardsAutocastAndRandomState";
  }
  const auto re = train_pass(true, true);
  ASSERT_EQ(plain.logits.dtype(), torch::kFloat);
  expect_same_step(plain, re);
  // The forward did run in bf16: fp32 logits differ.
  EXPECT_FALSE(torch::equal(plain.logits, train_pass(false, false).logits));
}

TEST(Recompute, ReentersTheForwardsAutocastAndRandomState) {
  std::vector<bool> autocast_seen;
  std::vector<torch::Tensor> draws;
  const TensorFn fn = [&](const torch::Tensor& x) {
    autocast_seen.push_back(cuda_autocast_enabled());
    draws.push_back(torch::rand({3}));
    return x * draws.back().sum();
  };
  const auto x = torch::ones({2}).requires_grad_();
  torch::Tensor y;
  {
    Bf16Autocast autocast(true);
    y = recomputed(fn, x);
  }
  ASSERT_FALSE(cuda_autocast_enabled());
  y.sum().backward();
  EXPECT_FALSE(cuda_autocast_enabled()) << "the backward pass leaves autocast as it found it";
  ASSERT_EQ(autocast_seen.size(), 2u);
  EXPECT_TRUE(autocast_seen[0] && autocast_seen[1]);
  EXPECT_TRUE(torch::equal(draws[0], draws[1]));
  EXPECT_TRUE(torch::equal(x.grad(), torch::full({2}, draws[0].sum().item<float>())));
  EXPECT_NE(y.grad_fn()->name().find("Recompute"), std::string::npos) << y.grad_fn()->name();
}

// Counts of each autograd node name reachable from `root`.
std::map<std::string, int> graph_nodes(const torch::Tensor& root) {
  std::map<std::string, int> count;
  std::set<torch::autograd::Node*> seen;
  std::vector<torch::autograd::Node*> todo{root.grad_fn().get()};
  while (!todo.empty()) {
    auto* node = todo.back();
    todo.pop_back();
    if (!node || !seen.insert(node).second) continue;
    ++count[node->name()];
    for (const auto& edge : node->next_edges()) todo.push_back(edge.function.get());
  }
  return count;
}

int count_containing(const std::map<std::string, int>& nodes, const std::string& part) {
  int n = 0;
  for (const auto& [name, k] : nodes)
    if (name.find(part) != std::string::npos) n += k;
  return n;
}

// Bytes malloc has handed out and not taken back: LibTorch's CPU allocator is malloc.
size_t heap_in_use() {
  const auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

struct Forward {
  size_t held_bytes;  // by the graph and output after the forward pass
  std::map<std::string, int> nodes;
};

Forward forward_only(bool recompute) {
  torch::manual_seed(3);
  VMUNet model(tiny_model());
  model->set_recompute(recompute);
  model->train();
  const auto x = torch::rand({4, 3, 128, 128}) * 255.0;
  const size_t before = heap_in_use();
  const auto out = model->forward(x);
  return {heap_in_use() - before, graph_nodes(out)};
}

TEST(Recompute, ForwardKeepsNoGraphInsideBlocksAndFarLessMemory) {
  if (device().is_cuda())
    GTEST_SKIP() << "measures the CPU heap; `vmunet bench --recompute` "
                    "measures the GPU";
  const auto plain = forward_only(false), re = forward_only(true);
  EXPECT_EQ(count_containing(plain.nodes, "Recompute"), 0);
  EXPECT_EQ(count_containing(re.nodes, "Recompute"), kBlocks);
  EXPECT_EQ(count_containing(plain.nodes, "SelectiveScan"), kBlocks);
  EXPECT_EQ(count_containing(re.nodes, "SelectiveScan"), 0);
  EXPECT_EQ(count_containing(re.nodes, "LayerNorm"),
            count_containing(plain.nodes, "LayerNorm") - kBlocks * 2);
  std::cout << "forward holds " << plain.held_bytes / 1024 << " KiB without, "
            << re.held_bytes / 1024 << " KiB with recomputation\n";
  EXPECT_LT(re.held_bytes * 3, plain.held_bytes);
}

// Two ranks in name: records every bucket it is asked to sum, and sums nothing.
class RecordingComm : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void all_reduce_sum(torch::Tensor& t) override { sums.push_back(t.clone()); }
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
  bool any(bool flag) override { return flag; }
  std::string describe() const override { return "recording"; }
  std::vector<torch::Tensor> sums;
};

struct Reduced {
  std::vector<size_t> arrivals;  // parameter indices in the order their gradients arrived
  std::vector<torch::Tensor> sums, grads;
};

Reduced reduced_step(bool recompute) {
  torch::manual_seed(3);
  VMUNet model(tiny_model());
  model->to(device());
  model->set_recompute(recompute);
  model->train();
  const auto params = model->parameters();
  Reduced r;
  for (size_t k = 0; k < params.size(); ++k)
    params[k].register_hook([&r, k](const torch::Tensor&) { r.arrivals.push_back(k); });
  RecordingComm comm;
  GradientReducer reducer(params, comm, /*bucket_bytes=*/16 << 10);
  const auto x = torch::rand({2, 3, 64, 64}, torch::TensorOptions().device(device())) * 255.0;
  torch::manual_seed(7);
  reducer.prepare(0.5);
  model->forward(x).square().mean().backward();
  reducer.finish();
  r.sums = std::move(comm.sums);
  for (const auto& p : params) r.grads.push_back(p.grad().clone());
  return r;
}

TEST(Recompute, ReducerHooksSeeEachGradientOnceInTheSameOrder) {
  const auto plain = reduced_step(false), re = reduced_step(true);
  ASSERT_GT(plain.sums.size(), 10u) << "many buckets, so that their start order is exercised";
  EXPECT_EQ(plain.arrivals.size(), plain.grads.size());
  EXPECT_EQ(plain.arrivals, re.arrivals);
  ASSERT_EQ(plain.sums.size(), re.sums.size());
  for (size_t i = 0; i < plain.sums.size(); ++i)
    EXPECT_TRUE(torch::equal(plain.sums[i], re.sums[i])) << "bucket " << i;
  for (size_t i = 0; i < plain.grads.size(); ++i)
    EXPECT_TRUE(torch::equal(plain.grads[i], re.grads[i])) << "parameter " << i;
}

TEST(Recompute, RunConfigKey) {
  const auto config = [](const std::string& value) {
    return parse_run_config(
        resolve_run_config(nlohmann::json::object(), {"train.recompute=" + value}));
  };
  EXPECT_FALSE(parse_run_config(resolve_run_config(nlohmann::json::object())).recompute_blocks);
  EXPECT_FALSE(config("none").recompute_blocks);
  EXPECT_TRUE(config("blocks").recompute_blocks);
  try {
    config("stages");
    FAIL() << "train.recompute=stages was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("train.recompute: expected one of"), std::string::npos)
        << e.what();
  }
}

class RecomputeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_recompute_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { test::remove_tree(dir); }
  fs::path dir;
};

// One epoch of two steps (the second step's loss depends on the first step's gradients), then
// the test evaluation; each run in its own database and runs folder.
TEST_F(RecomputeCli, TrainRecordsTheSameLossAndMetrics) {
  std::ofstream(dir / "tiny.json") << R"({
    "model": {"dims": [8, 16, 32, 64], "depths": [2, 2, 2, 2], "depths_decoder": [2, 2, 2, 1],
              "drop_path_rate": 0.3},
    "data": {"path": "tiny.h5", "synthetic": {"if_missing": true, "train": 8, "test": 4}},
    "train": {"epochs": 1, "batch_size": 4, "device": ")"
                                   << test::test_device() << R"("}
  })";
  const auto plain = test::train_recorded(dir, "none", "--config tiny.json");
  const auto re =
      test::train_recorded(dir, "blocks", "--config tiny.json --set train.recompute=blocks");
  ASSERT_EQ(plain.epochs.size(), 1u);
  test::expect_same_records(plain, re);
}

}  // namespace
}  // namespace vmunet
