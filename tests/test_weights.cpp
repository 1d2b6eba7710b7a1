// Loading weights by name: the report's counts and lists on a hand-built case, the weight.<name>
// convention, save -> load round trips, and the parity fixture loading with nothing left over.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

#include "model/vmunet.h"
#include "model/weights.h"

namespace vmunet {
namespace {

namespace nn = torch::nn;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("vmunet_test_weights_" + name)).string();
}

// Parameters fc.weight (3, 2), fc.bias (3), norm.weight (3), norm.bias (3).
struct TinyImpl : nn::Module {
  TinyImpl() {
    fc = register_module("fc", nn::Linear(2, 3));
    norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({3})));
  }
  nn::Linear fc{nullptr};
  nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Tiny);

TEST(LoadByName, ReportsLoadedMissingUnexpectedAndMismatched) {
  Tiny m;
  const auto bias_before = m->fc->bias.clone();
  const auto fc_weight = torch::arange(6, torch::kDouble).view({3, 2});  // converted to float
  const LoadReport r = load_by_name(*m, {{"fc.weight", fc_weight},
                                         {"fc.bias", torch::zeros({4})},
                                         {"norm.weight", torch::full({3}, 2.0)},
                                         {"head.weight", torch::zeros({1})}});
  EXPECT_EQ(r.loaded, 2);
  EXPECT_EQ(r.missing, std::vector<std::string>{"norm.bias"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"head.weight"});
  EXPECT_EQ(r.mismatched, std::vector<std::string>{"fc.bias: file [4] vs model [3]"});
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.summary(),
            "loaded 2, missing 1 (norm.bias), unexpected 1 (head.weight), shape mismatches 1 "
            "(fc.bias: file [4] vs model [3])");

  EXPECT_TRUE(torch::equal(m->fc->weight, fc_weight.to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(m->norm->weight, torch::full({3}, 2.0f)));
  EXPECT_TRUE(torch::equal(m->fc->bias, bias_before));  // mismatched: left as it was
  EXPECT_TRUE(m->fc->weight.requires_grad());           // still a trainable parameter
}

TEST(LoadByName, SummaryShortensLongLists) {
  Tiny m;
  TensorMap extra;
  for (int i = 0; i < 7; ++i) extra["x" + std::to_string(i)] = torch::zeros({1});
  const auto r = load_by_name(*m, extra);
  EXPECT_EQ(r.summary(),
            "loaded 0, missing 4 (fc.bias, fc.weight, norm.bias, norm.weight), unexpected 7 (x0, "
            "x1, x2, x3, x4, ... and 2 more), shape mismatches 0");
}

TEST(ModelWeights, PrefixSelectsWeightsAndIgnoresData) {
  const auto t = torch::zeros({1});
  const TensorMap fixture_like{
      {"weight.fc.bias", t}, {"grad.fc.bias", t}, {"input", t}, {"logits", t}, {"grad.input", t}};
  const auto w = model_weights(fixture_like);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w.begin()->first, "fc.bias");

  const TensorMap plain{{"fc.bias", t}, {"fc.weight", t}};
  EXPECT_EQ(model_weights(plain).size(), 2u);
}

TEST(SaveWeights, RoundTripIntoAFreshModule) {
  Tiny a, b;
  {
    torch::NoGradGuard g;
    a->norm->weight.uniform_(-1, 1);
  }
  const std::string path = temp_path("tiny.safetensors");
  save_weights(*a, path, {{"note", "test"}});
  const auto file = read_safetensors(path);
  EXPECT_EQ(file.metadata.at("note"), "test");
  EXPECT_EQ(file.tensors.size(), 4u);
  const auto r = load_weights(*b, path);
  std::remove(path.c_str());
  EXPECT_TRUE(r.complete()) << r.summary();
  EXPECT_EQ(r.loaded, 4);
  for (const auto& [name, t] : named_tensors(*a))
    EXPECT_TRUE(torch::equal(t, named_tensors(*b).at(name))) << name;
}

TEST(LoadWeights, ParityFixtureLoadsCompletely) {
  const std::string path = std::string(VMUNET_FIXTURES) + "/vmunet-small.safetensors";
  const auto file = read_safetensors(path);
  VMUNet net(model_config_from_json(nlohmann::json::parse(file.metadata.at("model"))));
  const LoadReport r = load_weights(*net, path);
  EXPECT_TRUE(r.missing.empty()) << r.summary();
  EXPECT_TRUE(r.unexpected.empty()) << r.summary();
  EXPECT_TRUE(r.mismatched.empty()) << r.summary();
  EXPECT_EQ(r.loaded, static_cast<int64_t>(net->named_parameters().size()));
  // Every file tensor arrived in the parameter of its name.
  const auto params = net->named_parameters();
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("weight.", 0) == 0) {
      EXPECT_TRUE(torch::equal(*params.find(name.substr(7)), t)) << name;
    }
  }
}

}  // namespace
}  // namespace vmunet
