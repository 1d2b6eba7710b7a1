// Sweep specs: expansion (base × axes × zips × seeds) with hand-counted runs and values, shared
// run keys, cost order with hand-worked ratios, missing inputs, every spec error naming its file
// and dotted path, and `vmunet sweep --dry-run` on each shipped spec listing its runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "model/flops.h"
#include "sweep/sweep_expand.h"
#include "tests/run_binary.h"
#include "tests/test_storage_helpers.h"
#include "worker/run_config.h"

namespace vmunet {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// A small base run config; its data file is made on first use, so nothing is missing.
json base_config(const fs::path& dir) {
  return {{"name", "base"},
          {"seed", 7},
          {"model", {{"dims", {8, 16, 32, 64}}, {"depths", {1, 1, 1, 1}}}},
          {"data",
           {{"path", (dir / "data.h5").string()},
            {"synthetic", {{"if_missing", true}, {"train", 40}, {"size", 64}}}}},
          {"train", {{"epochs", 2}, {"batch_size", 8}}}};
}

std::string write(const fs::path& path, const json& j) {
  std::ofstream(path) << j.dump(1);
  return path.string();
}

struct SpecFiles {
  test::TempDir dir;
  SpecFiles() {
    write(dir.path() / "base.json", base_config(dir.path()));
    json other = base_config(dir.path());
    other["name"] = "other";
    other["train"]["batch_size"] = 4;
    write(dir.path() / "other.json", other);
  }
  SweepSpec parse(const json& spec) {
    return parse_sweep_spec(spec, (dir.path() / "spec.json").string());
  }
};

TEST(SweepSpec, ExpandsBasesTimesAxesTimesZipsTimesSeeds) {
  SpecFiles f;
  const auto spec =
      f.parse({{"name", "s"},
               {"base", json::array({"base.json", "other.json"})},
               {"axes", {{"model.drop_path_rate", {0.0, 0.3}}}},
               {"zip",
                {{{"model.depths", {{1, 1, 1, 1}, {2, 2, 2, 2}, {1, 1, 2, 1}}},
                  {"model.depths_decoder", {{1, 1, 1, 1}, {2, 2, 2, 1}, {1, 2, 1, 1}}}}}},
               {"seeds", {1, 2}}});
  const auto plan = expand_sweep(spec);
  ASSERT_EQ(plan.size(), 2u * 2 * 3 * 2);
  std::set<std::string> keys;
  std::set<std::string> combos;
  for (const auto& run : plan) {
    keys.insert(run.run_key);
    EXPECT_EQ(run.run_key, run_key(run.config));
    const auto& m = run.config["model"];
    // The zip's lists vary together: depths[2] decides depths_decoder.
    const json expected_decoder = m["depths"] == json{1, 1, 1, 1}   ? json{1, 1, 1, 1}
                                  : m["depths"] == json{2, 2, 2, 2} ? json{2, 2, 2, 1}
                                                                    : json{1, 2, 1, 1};
    EXPECT_EQ(m["depths_decoder"], expected_decoder);
    combos.insert(
        json{run.config["name"], m["drop_path_rate"], m["depths"], run.config["seed"]}.dump());
    EXPECT_EQ(run.config["train"]["batch_size"], run.config["name"] == "base" ? 8 : 4);
    ASSERT_EQ(run.values.size(), 5u);  // name, the axis, the zip's two paths, seed
    EXPECT_EQ(run.values[0].first, "name");
    EXPECT_EQ(run.values[4].first, "seed");
    EXPECT_EQ(run.values[4].second, run.config["seed"]);
  }
  EXPECT_EQ(keys.size(), plan.size());
  EXPECT_EQ(combos.size(), plan.size());
}

TEST(SweepSpec, EqualConfigsShareOneRunKey) {
  SpecFiles f;
  // 0.2 is the default drop-path rate: the axis value 0.2 asks for the base's own config.
  const auto plan = expand_sweep(f.parse({{"name", "s"},
                                          {"base", "base.json"},
                                          {"axes", {{"model.drop_path_rate", {0.2, 0.2, 0.1}}}}}));
  ASSERT_EQ(plan.size(), 2u);
  const auto alone = expand_sweep(f.parse({{"name", "t"}, {"base", "base.json"}}));
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_TRUE(alone[0].run_key == plan[0].run_key || alone[0].run_key == plan[1].run_key);
}

TEST(SweepSpec, QueueIsLongestFirstByTrainingFlops) {
  SpecFiles f;
  const auto plan = expand_sweep(
      f.parse({{"name", "s"}, {"base", "base.json"}, {"axes", {{"train.epochs", {1, 3, 2}}}}}));
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].config["train"]["epochs"], 3);
  EXPECT_EQ(plan[1].config["train"]["epochs"], 2);
  EXPECT_EQ(plan[2].config["train"]["epochs"], 1);
  // 3 × forward FLOPs × 40 synthetic training images × epochs, at the synthetic 64×64.
  const auto c = total_cost(model_cost(parse_run_config(plan[2].config).model, 64, 64));
  const double forward = 2 * c.macs() + c.scan_flops + 4 * c.norm_elements;
  EXPECT_DOUBLE_EQ(plan[2].cost, 3 * forward * 40);
  EXPECT_DOUBLE_EQ(plan[0].cost, 3 * plan[2].cost);
  // A probed dataset file overrides the synthetic shape; max_steps_per_epoch caps the images.
  auto capped = plan[2].config;
  capped["train"]["max_steps_per_epoch"] = 2;
  const DatasetProbe probe = [](const std::string&) { return DatasetShape{128, 100}; };
  const auto c128 = total_cost(model_cost(parse_run_config(capped).model, 128, 128));
  EXPECT_DOUBLE_EQ(expected_cost(capped, probe),
                   3 * (2 * c128.macs() + c128.scan_flops + 4 * c128.norm_elements) * 16);
}

TEST(SweepSpec, MissingInputsAreListedPerRun) {
  SpecFiles f;
  json base = base_config(f.dir.path());
  base["data"]["synthetic"]["if_missing"] = false;
  write(f.dir.path() / "real.json", base);
  const auto plan = expand_sweep(f.parse(
      {{"name", "s"}, {"base", "real.json"}, {"axes", {{"train.init", {"", "nope.pth"}}}}}));
  ASSERT_EQ(plan.size(), 2u);
  const auto data = "data.path " + (f.dir.path() / "data.h5").string();
  for (const auto& run : plan) {
    std::vector<std::string> expected{data};
    if (run.config["train"]["init"] == "nope.pth") expected.push_back("train.init nope.pth");
    EXPECT_EQ(run.missing, expected);
  }
  EXPECT_EQ(missing_files(plan).size(), 3u);
}

TEST(SweepSpec, EveryErrorNamesTheFileAndTheDottedPath) {
  SpecFiles f;
  const std::string at = (f.dir.path() / "spec.json").string() + ": ";
  const json ok = {{"name", "s"}, {"base", "base.json"}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"axis", json::object()}}, "axis: unknown key (known: axes, base"},
      {{{"axes", {{"model.foo", {1}}}}}, "axes.model.foo[0]: model.foo: unknown key"},
      {{{"axes", {{"train.epochs", json::array()}}}}, "axes.train.epochs: empty list"},
      {{{"axes", {{"train.epochs", {2, "x"}}}}},
       "axes.train.epochs[1]: train.epochs: expected an integer"},
      {{{"axes", {{"train.epochs", 3}}}}, "axes.train.epochs: expected a list of values"},
      {{{"zip",
         {{{"model.depths", {{1, 1, 1, 1}, {2, 2, 2, 2}}},
           {"model.depths_decoder", {{1, 1, 1, 1}}}}}}},
       "zip[0].model.depths_decoder: 1 values, but zip[0].model.depths has 2"},
      {{{"axes", {{"seed", {1}}}}}, "axes.seed: vary seeds with the spec's \"seeds\" key"},
      {{{"seeds", {1, -2}}}, "seeds: expected non-negative integers, found -2"},
      {{{"gpus_per_run", 0}}, "gpus_per_run: expected a positive integer, found 0"},
      {{{"base", "absent.json"}}, "absent.json: cannot open run config"},
      {{{"axes", {{"train.epochs", {1}}}}, {"zip", {{{"train.epochs", {2}}}}}},
       "zip[0].train.epochs: this path is varied twice"},
  };
  for (const auto& [patch, expected] : cases) {
    json spec = ok;
    spec.update(patch);
    const std::string error = test::error_of([&] { f.parse(spec); });
    EXPECT_EQ(error.rfind(at, 0), 0u) << error;
    EXPECT_NE(error.find(expected), std::string::npos) << error << "\nexpected: " << expected;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

// The shipped specs: --dry-run lists every run even where data and checkpoints are missing.
TEST(SweepSpec, DryRunListsEveryShippedSpecsRuns) {
  const std::map<std::string, int> expected = {{"quickstart", 8}, {"table1", 10}, {"table2", 5},
                                               {"table3", 18},    {"table4", 24}, {"table5", 30},
                                               {"table6", 18}};
  test::TempDir dir;
  for (const auto& [name, runs] : expected) {
    const auto r = test::run_vmunet(
        "sweep --dry-run " + std::string(VMUNET_SOURCE_DIR) + "/configs/sweeps/" + name + ".json",
        dir.path().string());
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("sweep " + name + ": " + std::to_string(runs) + " runs"),
              std::string::npos)
        << r.output;
    // One row per run: lines that start with a 16-digit run key.
    const std::regex row("(^|\n)[0-9a-f]{16}  ");
    EXPECT_EQ(std::distance(std::sregex_iterator(r.output.begin(), r.output.end(), row),
                            std::sregex_iterator()),
              runs)
        << r.output;
  }
}

}  // namespace
}  // namespace vmunet
