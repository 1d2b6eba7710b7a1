// Model size and cost: Table V's exact parameter counts and its GFLOPs (REFERENCE.md,
// paper-tables.json), a hand-worked cost of one small case, and `vmunet info` through the binary.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <sys/wait.h>

#include "common/error.h"
#include "model/flops.h"
#include "model/vmunet.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {

struct TableVRow {
  std::vector<int64_t> depths, depths_decoder;
  int64_t parameters;
  double gflops;  // the paper's, at 256×256
};

const std::vector<TableVRow> kTableV = {
    {{2, 2, 2, 2}, {2, 2, 2, 1}, 27427561, 4.11}, {{2, 2, 2, 2}, {2, 2, 2, 2}, 27532969, 4.35},
    {{2, 2, 3, 2}, {2, 3, 2, 2}, 29924521, 4.81}, {{2, 2, 4, 2}, {2, 4, 2, 2}, 32316073, 5.27},
    {{2, 2, 9, 2}, {2, 9, 2, 2}, 44273833, 7.56},
};

ModelConfig table_v_config(const TableVRow& row) {
  ModelConfig c;  // C = 96, 1 class, 3 input channels
  c.depths = row.depths;
  c.depths_decoder = row.depths_decoder;
  return c;
}

TEST(TableV, ExactParameterCounts) {
  for (const auto& row : kTableV) {
    VMUNet net(table_v_config(row));
    EXPECT_EQ(parameter_count(*net), row.parameters) << row.parameters;
  }
}

TEST(TableV, PaperGflopsFromThopConvention) {
  for (const auto& row : kTableV) {
    const double g = total_cost(model_cost(table_v_config(row), 256, 256)).paper_flops() / 1e9;
    EXPECT_NEAR(g, row.gflops, 0.005) << row.parameters;
  }
}

// dims [16, 32, 64, 128], depths [1, 1, 1, 1] both ways, 1 class, 32×32 input, worked by hand.
TEST(ModelCost, HandWorkedSmallCase) {
  ModelConfig c;
  c.dims = {16, 32, 64, 128};
  c.depths = {1, 1, 1, 1};
  c.depths_decoder = {1, 1, 1, 1};
  const auto stages = model_cost(c, 32, 32);
  ASSERT_EQ(stages.size(), 10u);

  // Patch embed: 8×8 outputs × 16 channels × (3 × 4 × 4) weights.
  EXPECT_EQ(stages[0].input, (std::array<int64_t, 3>{32, 32, 3}));
  EXPECT_EQ(stages[0].output, (std::array<int64_t, 3>{8, 8, 16}));
  EXPECT_EQ(stages[0].linear_macs, 64 * 16 * 48);
  EXPECT_EQ(stages[0].norm_elements, 64 * 16);

  // layers.0: one block at 8×8×16 (d_inner 32, R 1, N 16), then merging to 4×4×32.
  // in_proj 64·16·64 = 65536, dwconv 64·32·9 = 18432, out_proj 64·32·16 = 32768,
  // merging 16·64·32 = 32768; x_proj 4·64·32·33 = 270336, dt_proj 4·64·1·32 = 8192;
  // scan 9·64·128·16 + 64·128 = 1187840; norms 64·16 + 64·32 + 16·64 = 4096.
  const auto& e0 = stages[1];
  EXPECT_EQ(e0.name, "layers.0");
  EXPECT_EQ(e0.output, (std::array<int64_t, 3>{4, 4, 32}));
  EXPECT_EQ(e0.linear_macs, 65536 + 18432 + 32768 + 32768);
  EXPECT_EQ(e0.proj_macs, 270336 + 8192);
  EXPECT_EQ(e0.scan_flops, 1187840);
  EXPECT_EQ(e0.norm_elements, 4096);

  // layers_up.3: expand 4×4×32 -> Linear(32 -> 64) per token = 16·32·64, LayerNorm on 8×8×16,
  // then one block at 8×8×16 as in layers.0.
  const auto& d3 = stages[8];
  EXPECT_EQ(d3.name, "layers_up.3");
  EXPECT_EQ(d3.input, (std::array<int64_t, 3>{4, 4, 32}));
  EXPECT_EQ(d3.output, (std::array<int64_t, 3>{8, 8, 16}));
  EXPECT_EQ(d3.linear_macs, 16 * 32 * 64 + 65536 + 18432 + 32768);
  EXPECT_EQ(d3.norm_elements, 64 * 16 + 64 * 16 + 64 * 32);

  // final: Linear(16 -> 64) on 8×8 tokens, LayerNorm on 32×32×4, 1×1 conv 4 -> 1.
  EXPECT_EQ(stages[9].input, (std::array<int64_t, 3>{8, 8, 16}));
  EXPECT_EQ(stages[9].output, (std::array<int64_t, 3>{32, 32, 1}));
  EXPECT_EQ(stages[9].linear_macs, 64 * 16 * 64 + 1024 * 4);
  EXPECT_EQ(stages[9].norm_elements, 1024 * 4);
}

TEST(ModelCost, RejectsSizesNotMultipleOf32) {
  EXPECT_THROW(model_cost(ModelConfig{}, 256, 250), Error);
  EXPECT_THROW(model_cost(ModelConfig{}, 0, 256), Error);
}

// Whether some line of `out` starts with these whitespace-separated words.
bool has_row(const std::string& out, const std::vector<std::string>& words) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::vector<std::string> got;
    for (std::string w; got.size() < words.size() && in >> w;) got.push_back(w);
    if (got == words) return true;
  }
  return false;
}

std::string write_model(const std::string& name, const std::string& json) {
  const auto path = std::filesystem::temp_directory_path() / ("vmunet_test_info_" + name);
  std::ofstream(path) << json;
  return path.string();
}

TEST(InfoCommand, DefaultModel) {
  const std::string model = write_model("default.json", R"({"embed_dim": 96})");
  const auto [status, out] = test::run_vmunet("info --model " + model);
  std::remove(model.c_str());
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\nparameters: 27427561\n"), std::string::npos) << out;
  EXPECT_NE(out.find("input: 1x3x256x256"), std::string::npos) << out;
  // Stage rows begin: name, input, output (HxWxC).
  EXPECT_TRUE(has_row(out, {"patch_embed", "256x256x3", "64x64x96"})) << out;
  EXPECT_TRUE(has_row(out, {"layers.0", "64x64x96", "32x32x192"})) << out;
  EXPECT_TRUE(has_row(out, {"layers.3", "8x8x768", "8x8x768"})) << out;
  EXPECT_TRUE(has_row(out, {"layers_up.0", "8x8x768", "8x8x768"})) << out;
  EXPECT_TRUE(has_row(out, {"layers_up.1", "8x8x768", "16x16x384"})) << out;
  EXPECT_TRUE(has_row(out, {"final", "64x64x96", "256x256x1"})) << out;
  EXPECT_NE(out.find("no projections, no scan): 4.112"), std::string::npos) << out;
}

TEST(InfoCommand, DeepestTableVModelAtOtherInputSize) {
  const TableVRow& row = kTableV.back();
  const nlohmann::json j = {{"depths", row.depths}, {"depths_decoder", row.depths_decoder}};
  const std::string model = write_model("tablev.json", j.dump());
  const auto [status, out] = test::run_vmunet("info --model " + model + " --input-size 224 160");
  std::remove(model.c_str());
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\nparameters: 44273833\n"), std::string::npos) << out;
  EXPECT_TRUE(has_row(out, {"patch_embed", "224x160x3", "56x40x96"})) << out;
  EXPECT_TRUE(has_row(out, {"layers.2", "14x10x384", "7x5x768"})) << out;
}

TEST(InfoCommand, BadInputSizeIsOneErrorLine) {
  const std::string model = write_model("bad.json", "{}");
  const auto [status, out] = test::run_vmunet("info --model " + model + " --input-size 256 250");
  std::remove(model.c_str());
  EXPECT_NE(status, 0);
  EXPECT_EQ(out,
            "vmunet: error: input size 256x250: height and width must be positive multiples "
            "of 32 (patch 4, then 3 halvings)\n");
}

}  // namespace
}  // namespace vmunet
