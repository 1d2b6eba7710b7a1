// Whole-network golden test in the style of llm.c's test_gpt2: the official implementation's
// weights, input, logits and every gradient (tests/fixtures/vmunet-small.safetensors).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "model/layer_norm.h"
#include "model/safetensors.h"
#include "model/vmunet.h"
#include "model/weights.h"
#include "tests/tolerances.h"

namespace vmunet {
namespace {

class VMUNetParity : public ::testing::Test {
 protected:
  void SetUp() override {
    file = read_safetensors(std::string(VMUNET_FIXTURES) + "/vmunet-small.safetensors");
    net = VMUNet(model_config_from_json(nlohmann::json::parse(file.metadata.at("model"))));
    const auto report = load_by_name(*net, model_weights(file.tensors));
    ASSERT_TRUE(report.complete()) << report.summary();
    net->eval();
  }
  SafetensorsFile file;
  VMUNet net{nullptr};
};

TEST_F(VMUNetParity, LogitsMatchOfficialImplementation) {
  torch::NoGradGuard no_grad;
  auto logits = net->forward(file.tensors.at("input"));
  EXPECT_LT(test::rel_error(logits, file.tensors.at("logits")),
            test::tolerance_for(torch::kFloat).forward);
  EXPECT_LT(test::rel_error(net->output(logits), file.tensors.at("output")),
            test::tolerance_for(torch::kFloat).forward);
}

TEST_F(VMUNetParity, InputAndEveryParameterGradientMatch) {
  auto input = file.tensors.at("input").clone().requires_grad_(true);
  (net->forward(input) * file.tensors.at("cotangent")).sum().backward();
  const double tol = test::tolerance_for(torch::kFloat).gradient;
  EXPECT_LT(test::rel_error(input.grad(), file.tensors.at("grad.input")), tol) << "grad.input";
  int checked = 0;
  for (const auto& p : net->named_parameters()) {
    const auto& ref = file.tensors.at("grad." + p.key());
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_LT(test::rel_error(p.value().grad(), ref), tol) << "grad." << p.key();
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(net->named_parameters().size()));
}

// The same golden case with the CUDA selective scan (skipped without a GPU).
TEST_F(VMUNetParity, LogitsAndGradientsMatchOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  net->to(torch::kCUDA);
  auto input = file.tensors.at("input").to(torch::kCUDA).requires_grad_(true);
  auto logits = net->forward(input);
  (logits * file.tensors.at("cotangent").to(torch::kCUDA)).sum().backward();
  EXPECT_LT(test::rel_error(logits.cpu(), file.tensors.at("logits")),
            test::tolerance_for(torch::kFloat).forward);
  const double tol = test::tolerance_for(torch::kFloat).gradient;
  EXPECT_LT(test::rel_error(input.grad().cpu(), file.tensors.at("grad.input")), tol);
  for (const auto& p : net->named_parameters())
    EXPECT_LT(test::rel_error(p.value().grad().cpu(), file.tensors.at("grad." + p.key())), tol)
        << "grad." << p.key();
}

// The patch embedding (one matrix product over the patches) and the head (LayerNorm and 1×1
// convolution on the tokens before they are laid out) against the operators they replace, with
// several classes so that a misplaced class or position shows.
TEST(VMUNetLayout, EmbeddingAndHeadMatchConvolutionsOnTheGrid) {
  torch::manual_seed(5);
  ModelConfig c;
  c.dims = {16, 32, 64, 128};
  c.num_classes = 3;
  VMUNet net(c);
  const auto image = torch::randn({2, 3, 20, 28});
  auto& embed = net->patch_embed;
  const auto embedded = layer_norm(embed->proj->forward(image).permute({0, 2, 3, 1}), embed->norm);
  EXPECT_LT(test::rel_error(embed->forward(image), embedded), 1e-6);

  const auto tokens = torch::randn({2, 5, 7, 16}, torch::requires_grad());
  const auto logits = net->head(tokens);
  const auto reference =
      net->final_conv->forward(net->final_up->forward(tokens).permute({0, 3, 1, 2}));
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3, 20, 28}));
  EXPECT_LT(test::rel_error(logits, reference), 1e-6);
  const auto dy = torch::randn(logits.sizes());
  const auto grad = torch::autograd::grad({logits}, {tokens}, {dy})[0];
  const auto grad_ref = torch::autograd::grad({reference}, {tokens}, {dy})[0];
  EXPECT_LT(test::rel_error(grad, grad_ref), 1e-6);
}

// Stochastic depth: linspace(0, rate, Σ depths) over encoder blocks, reversed over decoder blocks.
TEST(VMUNetSchedule, DropPathRates) {
  ModelConfig c;  // depths {2,2,2,2}, decoder {2,2,2,1}, rate 0.2
  const auto enc = encoder_drop_path_rates(c);
  const auto dec = decoder_drop_path_rates(c);
  const std::vector<std::vector<double>> enc_expected = {
      {0.0, 0.2 / 7}, {0.4 / 7, 0.6 / 7}, {0.8 / 7, 1.0 / 7}, {1.2 / 7, 0.2}};
  const std::vector<std::vector<double>> dec_expected = {
      {0.2, 1.0 / 6 * 0.2 * 5}, {0.2 * 4 / 6, 0.2 * 3 / 6}, {0.2 * 2 / 6, 0.2 / 6}, {0.0}};
  ASSERT_EQ(enc.size(), 4u);
  ASSERT_EQ(dec.size(), 4u);
  for (size_t s = 0; s < 4; ++s) {
    ASSERT_EQ(enc[s].size(), enc_expected[s].size());
    ASSERT_EQ(dec[s].size(), dec_expected[s].size());
    for (size_t b = 0; b < enc[s].size(); ++b) EXPECT_NEAR(enc[s][b], enc_expected[s][b], 1e-7);
    for (size_t b = 0; b < dec[s].size(); ++b) EXPECT_NEAR(dec[s][b], dec_expected[s][b], 1e-7);
  }
  // The rates reach the blocks.
  VMUNet net(c);
  auto last = net->layers[3]->as<VSSLayer>()->blocks[1]->as<VSSBlock>();
  EXPECT_NEAR(last->drop_path_rate, 0.2, 1e-7);
}

// PatchMerging2D against the official formulation: the strided phases x[:, r::2, c::2]
// concatenated as (r, c) = (0, 0), (1, 0), (0, 1), (1, 1), cropped to even sizes. The same values
// move either way, so output and input gradient agree bit for bit.
TEST(PatchMerging, MatchesTheOfficialStridedPhases) {
  using torch::indexing::None;
  using torch::indexing::Slice;
  torch::manual_seed(3);
  PatchMerging2D merge(3);
  for (const auto& shape : {std::vector<int64_t>{2, 6, 4, 3}, std::vector<int64_t>{2, 5, 7, 3}}) {
    const auto x = torch::randn(shape).requires_grad_(true);
    const auto out = merge->forward(x);
    const auto dout = torch::randn_like(out);
    const auto dx = torch::autograd::grad({out}, {x}, {dout})[0];

    const int64_t H = shape[1] / 2, W = shape[2] / 2;
    auto phase = [&](int64_t r, int64_t c) {
      return x.index({Slice(), Slice(r, 2 * H, 2), Slice(c, 2 * W, 2), Slice()});
    };
    const auto merged = torch::cat({phase(0, 0), phase(1, 0), phase(0, 1), phase(1, 1)}, -1);
    const auto ref = merge->reduction->forward(layer_norm(merged, merge->norm));
    const auto dx_ref = torch::autograd::grad({ref}, {x}, {dout})[0];
    ASSERT_EQ(out.sizes(), ref.sizes());
    EXPECT_TRUE(torch::equal(out, ref));
    EXPECT_TRUE(torch::equal(dx, dx_ref));
  }
}

// Drop path is identity in eval mode and unbiased in training: x + branch·mask / keep per sample,
// with the mask timm draws (bernoulli(keep) over the batch, from the same generator).
TEST(VMUNetSchedule, DropPathScalesKeptSamples) {
  const auto x = torch::rand({20000, 1, 2, 3});
  const auto branch = torch::rand({20000, 1, 2, 3});
  EXPECT_TRUE(torch::equal(add_drop_path(x, branch, 0.3, false), x + branch));
  EXPECT_TRUE(torch::equal(add_drop_path(x, branch, 0.0, true), x + branch));
  torch::manual_seed(0);
  const auto y = add_drop_path(x, branch, 0.3, true);
  torch::manual_seed(0);
  const auto mask = torch::empty({20000, 1, 1, 1}).bernoulli_(0.7);
  EXPECT_NEAR(mask.mean().item<float>(), 0.7, 0.02);
  EXPECT_TRUE(torch::allclose(y, x + branch * mask / 0.7, 1e-6, 1e-6));
  const auto dropped = (mask == 0).expand_as(x);
  EXPECT_GT(dropped.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(y.masked_select(dropped), x.masked_select(dropped)));
}

}  // namespace
}  // namespace vmunet
