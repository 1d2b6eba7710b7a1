// Pretrained init: a small VMamba-named classification checkpoint (v0 key names and shapes written
// out by hand here, not taken from our model) loads into the encoder by name and into the decoder
// by layers.i -> layers_up.(3-i), with the counts worked out below; .safetensors and .pth alike.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "model/pretrained.h"

namespace vmunet {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("vmunet_test_pretrained_" + name)).string();
}

// The 13 tensors of one VMamba v0 VSS block of width d (d_state 16, dt_rank ceil(d/16)).
void add_block(TensorMap& ckpt, const std::string& prefix, int64_t d) {
  const int64_t di = 2 * d, R = (d + 15) / 16, N = 16;
  const std::string a = prefix + "self_attention.";
  auto r = [](std::vector<int64_t> shape) { return torch::randn(shape); };
  ckpt[prefix + "ln_1.weight"] = r({d});
  ckpt[prefix + "ln_1.bias"] = r({d});
  ckpt[a + "in_proj.weight"] = r({2 * di, d});
  ckpt[a + "conv2d.weight"] = r({di, 1, 3, 3});
  ckpt[a + "conv2d.bias"] = r({di});
  ckpt[a + "x_proj_weight"] = r({4, R + 2 * N, di});
  ckpt[a + "dt_projs_weight"] = r({4, di, R});
  ckpt[a + "dt_projs_bias"] = r({4, di});
  ckpt[a + "A_logs"] = r({4 * di, N});
  ckpt[a + "Ds"] = r({4 * di});
  ckpt[a + "out_norm.weight"] = r({di});
  ckpt[a + "out_norm.bias"] = r({di});
  ckpt[a + "out_proj.weight"] = r({d, di});
}

// A VMamba-tiny-like classifier of width 16: depths [2, 2, 3, 2] (one block more than our model in
// stage 2), final norm and 1000-class head, and layers.1.blocks.0's A_logs with d_state 8.
TensorMap vmamba_checkpoint() {
  torch::manual_seed(7);
  TensorMap c;
  const std::vector<int64_t> dims{16, 32, 64, 128}, depths{2, 2, 3, 2};
  c["patch_embed.proj.weight"] = torch::randn({16, 3, 4, 4});
  c["patch_embed.proj.bias"] = torch::randn({16});
  c["patch_embed.norm.weight"] = torch::randn({16});
  c["patch_embed.norm.bias"] = torch::randn({16});
  for (int64_t i = 0; i < 4; ++i) {
    const std::string layer = "layers." + std::to_string(i) + ".";
    for (int64_t b = 0; b < depths[i]; ++b)
      add_block(c, layer + "blocks." + std::to_string(b) + ".", dims[i]);
    if (i < 3) {
      c[layer + "downsample.norm.weight"] = torch::randn({4 * dims[i]});
      c[layer + "downsample.norm.bias"] = torch::randn({4 * dims[i]});
      c[layer + "downsample.reduction.weight"] = torch::randn({2 * dims[i], 4 * dims[i]});
    }
  }
  c["layers.1.blocks.0.self_attention.A_logs"] = torch::randn({256, 8});
  c["norm.weight"] = torch::randn({128});
  c["norm.bias"] = torch::randn({128});
  c["head.weight"] = torch::randn({1000, 128});
  c["head.bias"] = torch::randn({1000});
  return c;
}

ModelConfig small_config() {
  ModelConfig c;
  c.dims = {16, 32, 64, 128};
  c.depths = {2, 2, 2, 2};
  c.depths_decoder = {2, 2, 2, 1};
  return c;
}

// 134 keys = patch_embed 4 + blocks 9 × 13 + downsample 3 × 3 + norm 2 + head 2.
// By name: loads patch_embed 4 + our 8 encoder blocks × 13 − 1 (A_logs) + downsample 9 = 116;
//   skips layers.2.blocks.2 (13), norm and head (4), the A_logs mismatch (1) = 18.
// Decoder: of the 126 layers.* keys, layers_up.0 <- layers.3 (2 blocks, 26), layers_up.1 <-
//   layers.2 (26, its third block skipped: 13), layers_up.2 <- layers.1 (26 − 1 A_logs),
//   layers_up.3 <- layers.0 (1 block, 13; blocks.1 skipped: 13); downsample.* has no decoder
//   counterpart (9 skipped). Loaded 26 + 26 + 25 + 13 = 90, skipped 13 + 1 + 13 + 9 = 36.
void expect_loaded_as_mapped(VMUNet& net, const TensorMap& ckpt, const TensorMap& before) {
  const auto p = net->named_parameters();
  auto param = [&](const std::string& name) { return *p.find(name); };
  for (const auto& [key, t] : ckpt) {
    if (p.find(key) && param(key).sizes() == t.sizes()) {
      EXPECT_TRUE(torch::equal(param(key), t)) << key;
    }
  }
  const std::string attn = ".blocks.0.self_attention.";
  EXPECT_TRUE(torch::equal(param("layers_up.3" + attn + "x_proj_weight"),
                           ckpt.at("layers.0" + attn + "x_proj_weight")));
  EXPECT_TRUE(torch::equal(param("layers_up.0.blocks.1.ln_1.weight"),
                           ckpt.at("layers.3.blocks.1.ln_1.weight")));
  EXPECT_TRUE(torch::equal(param("layers_up.1.blocks.1.self_attention.out_proj.weight"),
                           ckpt.at("layers.2.blocks.1.self_attention.out_proj.weight")));
  EXPECT_TRUE(torch::equal(param("layers_up.2" + attn + "Ds"), ckpt.at("layers.1" + attn + "Ds")));
  // Untouched: the mismatched A_logs in both places, and what no checkpoint key maps to.
  for (const char* name :
       {"layers.1.blocks.0.self_attention.A_logs", "layers_up.2.blocks.0.self_attention.A_logs",
        "layers_up.1.upsample.expand.weight", "final_up.norm.weight", "final_conv.weight"})
    EXPECT_TRUE(torch::equal(param(name), before.at(name))) << name;
}

void expect_counts(const PretrainedReport& r) {
  EXPECT_EQ(r.checkpoint_keys, 134);
  EXPECT_EQ(r.by_name.loaded, 116);
  EXPECT_EQ(r.by_name.unexpected.size(), 17u);
  EXPECT_EQ(r.by_name.mismatched,
            std::vector<std::string>{"layers.1.blocks.0.self_attention.A_logs: file [256, 8] vs "
                                     "model [256, 16]"});
  EXPECT_EQ(r.decoder.loaded, 90);
  EXPECT_EQ(r.decoder.unexpected.size() + r.decoder.mismatched.size(), 36u);
  EXPECT_EQ(r.skipped.size(), 18u + 36u);
  EXPECT_EQ(r.summary(),
            "134 checkpoint keys; by name: loaded 116, skipped 18; into the decoder (layers.i -> "
            "layers_up.(S-1-i)): loaded 90, skipped 36");
}

TEST(Pretrained, SafetensorsCheckpointLoadsIntoEncoderAndDecoder) {
  const TensorMap ckpt = vmamba_checkpoint();
  const std::string path = temp_path("vmamba.safetensors");
  write_safetensors(path, ckpt);
  VMUNet net(small_config());
  TensorMap before;
  for (const auto& [name, t] : named_tensors(*net)) before[name] = t.clone();

  const PretrainedReport r = load_pretrained(net, path);
  std::remove(path.c_str());
  expect_counts(r);
  expect_loaded_as_mapped(net, ckpt, before);

  auto has = [&](const std::string& line) {
    return std::find(r.skipped.begin(), r.skipped.end(), line) != r.skipped.end();
  };
  EXPECT_TRUE(has("by name: head.weight: not in the model"));
  EXPECT_TRUE(
      has("decoder: layers.0.blocks.1.ln_1.weight -> layers_up.3.blocks.1.ln_1.weight: "
          "not in the model"));
  EXPECT_TRUE(
      has("decoder: layers.1.blocks.0.self_attention.A_logs -> "
          "layers_up.2.blocks.0.self_attention.A_logs: file [256, 8] vs model [256, 16]"));
}

TEST(Pretrained, PthCheckpointUnderModelKey) {
  const TensorMap ckpt = vmamba_checkpoint();
  c10::Dict<std::string, torch::Tensor> state;
  for (const auto& [k, t] : ckpt) state.insert(k, t);
  c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
  top.insert("model", state);
  top.insert("epoch", int64_t{299});
  const std::vector<char> bytes = torch::pickle_save(top);
  const std::string path = temp_path("vmamba.pth");
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  VMUNet net(small_config());
  TensorMap before;
  for (const auto& [name, t] : named_tensors(*net)) before[name] = t.clone();
  const PretrainedReport r = load_pretrained(net, path);
  std::remove(path.c_str());
  expect_counts(r);
  expect_loaded_as_mapped(net, ckpt, before);
}

TEST(Pretrained, UnreadablePthGivesTheConversionCommand) {
  const std::string path = temp_path("broken.pth");
  std::ofstream(path, std::ios::binary) << "this is not a zip archive";
  VMUNet net(small_config());
  try {
    load_pretrained(net, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path + ": LibTorch cannot read this .pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("python3 -c \"import torch; from safetensors.torch import save_file"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("'" + path.substr(0, path.size() - 4) + ".safetensors'"), std::string::npos)
        << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  std::remove(path.c_str());
}

TEST(Pretrained, UnknownExtensionIsRejected) {
  VMUNet net(small_config());
  EXPECT_THROW(load_pretrained(net, temp_path("weights.bin")), Error);
}

}  // namespace
}  // namespace vmunet
