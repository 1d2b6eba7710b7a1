// `vmunet forward` through the binary: the parity fixture's logits reproduced, and one clear error
// line with a non-zero exit for each kind of bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <sys/wait.h>
#include <unistd.h>

#include "model/safetensors.h"
#include "tests/remove_tree.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {

namespace fs = std::filesystem;

const std::string kFixture = std::string(VMUNET_FIXTURES) + "/vmunet-small.safetensors";

using test::BinaryRun;
using test::run_vmunet;

class CliForward : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_test_cli_forward_" + std::to_string(getpid()));
    fs::create_directories(dir);
    const auto fixture = read_safetensors(kFixture);
    model = path("model.json");
    std::ofstream(model) << fixture.metadata.at("model");  // a fixture's metadata is a model file
    logits = fixture.tensors.at("logits");
    input = fixture.tensors.at("input");
  }
  void TearDown() override { test::remove_tree(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  std::string forward_args(const std::string& m, const std::string& weights, const std::string& in,
                           const std::string& out) const {
    return "forward --model " + m + " --weights " + weights + " --input " + in + " --output " + out;
  }

  fs::path dir;
  std::string model;
  torch::Tensor logits, input;
};

TEST_F(CliForward, ReproducesFixtureLogits) {
  const std::string out = path("y.safetensors");
  const BinaryRun r = run_vmunet(forward_args(model, kFixture, kFixture, out));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("loaded 222 weight tensors"), std::string::npos) << r.output;
  const auto y = read_safetensors(out);
  const auto& got = y.tensors.at("logits");
  ASSERT_EQ(got.sizes(), logits.sizes());
  const double rel = ((got - logits).abs().max() / logits.abs().max()).item<double>();
  EXPECT_LT(rel, 1e-4) << "max|a-b|/max|b| of logits";
  EXPECT_TRUE(torch::allclose(y.tensors.at("output"), torch::sigmoid(got)));
  EXPECT_NE(y.metadata.at("model").find("\"dims\":[16,32,64,128]"), std::string::npos);
}

// A failed run: non-zero exit, output naming every part.
void expect_error(const BinaryRun& r, const std::vector<std::string>& parts) {
  EXPECT_NE(r.status, 0) << r.output;
  for (const auto& p : parts) EXPECT_NE(r.output.find(p), std::string::npos) << r.output;
}

TEST_F(CliForward, MissingFiles) {
  expect_error(run_vmunet(forward_args(model, path("nope.safetensors"), kFixture, path("y"))),
               {"nope.safetensors"});
  expect_error(run_vmunet(forward_args(path("nope.json"), kFixture, kFixture, path("y"))),
               {"nope.json"});
}

TEST_F(CliForward, WrongInputShape) {
  const std::string bad = path("x.safetensors");
  write_safetensors(bad, {{"input", input.narrow(3, 0, 48)}});  // 64x48: not a multiple of 32
  expect_error(run_vmunet(forward_args(model, kFixture, bad, path("y"))),
               {"vmunet: error: ", bad, "tensor 'input'", "[2, 3, 64, 48]", "multiples of 32"});
  write_safetensors(bad, {{"input", input.narrow(1, 0, 1)}});  // 1 channel for a 3-channel model
  expect_error(run_vmunet(forward_args(model, kFixture, bad, path("y"))),
               {"vmunet: error: ", bad, "[2, 1, 64, 64]", "3, H, W)"});
  write_safetensors(bad, {{"x", input}});
  expect_error(run_vmunet(forward_args(model, kFixture, bad, path("y"))),
               {"vmunet: error: ", bad, "no tensor named 'input'"});
  EXPECT_FALSE(fs::exists(path("y")));
}

TEST_F(CliForward, ModelWeightsMismatch) {
  const std::string wide = path("wide.json");
  std::ofstream(wide) << R"({"dims": [32, 64, 128, 256], "depths_decoder": [2, 2, 2, 2]})";
  const BinaryRun r = run_vmunet(forward_args(wide, kFixture, kFixture, path("y")));
  expect_error(r, {"vmunet: error: ", kFixture, "weights do not match the model of " + wide,
                   "missing 13 (layers_up.3.blocks.1.", "shape mismatches",
                   "final_conv.weight: file [1, 4, 1, 1] vs model [1, 8, 1, 1]"});
}

}  // namespace
}  // namespace vmunet
