// Run configs that must be refused: invalid JSON, deep nesting, huge values, wrong types at every
// level, unknown keys, out-of-range numbers, and --set overrides of the same.
#include <nlohmann/json.hpp>

#include <functional>

#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {
namespace {

using json = nlohmann::json;

// `train` on a config file holding `text`: nothing may be created, the database not touched.
Case train_on_text(const std::string& category, const std::string& name, const std::string& text) {
  const std::string dir = case_dir(category, name);
  write_bytes(dir + "/config.json", text);
  Case c;
  c.category = category;
  c.name = name;
  c.args = {"train",        "--config", dir + "/config.json", "--db",
            workspace().db, "--out",    dir + "/runs"};
  c.guarded = {workspace().db};
  c.absent = {dir + "/runs"};
  return c;
}

// The tiny config with `edit` applied.
std::string edited(const std::function<void(json&)>& edit) {
  json j = workspace().user;
  edit(j);
  return j.dump();
}

std::string nested(int depth, const std::string& inner = "1") {
  return std::string(static_cast<size_t>(depth), '[') + inner +
         std::string(static_cast<size_t>(depth), ']');
}

// Every leaf of the defaults' shape, as JSON pointers of the user config's sections.
const std::vector<std::string> kLeaves = {
    "/name",
    "/seed",
    "/model/dims",
    "/model/depths",
    "/model/depths_decoder",
    "/model/num_classes",
    "/model/in_channels",
    "/model/d_state",
    "/model/drop_path_rate",
    "/data/path",
    "/data/synthetic/if_missing",
    "/data/synthetic/task",
    "/data/synthetic/train",
    "/data/synthetic/test",
    "/data/synthetic/size",
    "/data/synthetic/seed",
    "/train/epochs",
    "/train/batch_size",
    "/train/eval_every",
    "/train/max_steps_per_epoch",
    "/train/device",
    "/train/precision",
    "/train/checkpoint_every",
    "/train/init",
    "/optimizer/lr",
    "/optimizer/betas",
    "/optimizer/eps",
    "/optimizer/weight_decay",
    "/schedule/t_max",
    "/schedule/eta_min",
    "/loss/pixel_weight",
    "/loss/dice_weight",
    "/augment/policy",
    "/augment/hflip",
    "/augment/vflip",
    "/augment/rotate",
    "/augment/rotation",
    "/augment/image_interpolation",
    "/eval/threshold",
};

// A value of the wrong type for the leaf at `pointer`.
std::vector<json> wrong_values(const std::string& pointer) {
  const json defaults = json::parse(R"({"name":"s","seed":1,"data":{"path":"s","synthetic":{
      "if_missing":true,"task":"s","train":1,"test":1,"size":1,"seed":1}},"train":{"epochs":1,
      "batch_size":1,"eval_every":1,"max_steps_per_epoch":1,"device":"s","precision":"s",
      "checkpoint_every":1,"init":"s"},"optimizer":{"lr":0.1,"betas":[0.1,0.1],"eps":0.1,
      "weight_decay":0.1},"schedule":{"t_max":1,"eta_min":0.1},"loss":{"pixel_weight":0.1,
      "dice_weight":0.1},"augment":{"policy":"s","hflip":0.1,"vflip":0.1,"rotate":0.1,
      "rotation":"s","image_interpolation":"s"},"eval":{"threshold":0.1},"model":{"dims":[8],
      "depths":[1],"depths_decoder":[1],"num_classes":1,"in_channels":1,"d_state":1,
      "drop_path_rate":0.1}})");
  const json& d = defaults.at(json::json_pointer(pointer));
  std::vector<json> out;
  if (!d.is_string()) out.push_back("text");
  if (!d.is_boolean()) out.push_back(true);
  if (!d.is_number()) out.push_back(7);
  if (d.is_number_integer()) out.push_back(2.5);
  out.push_back(nullptr);
  out.push_back(json::object({{"a", 1}}));
  if (!d.is_array()) out.push_back(json::array({1, 2}));
  if (d.is_array()) out.push_back(json::array({"x"}));
  return out;
}

}  // namespace

std::vector<Case> config_file_cases() {
  const std::string cat = "config";
  std::vector<Case> cases;
  const auto add = [&](const std::string& name, const std::string& text) {
    cases.push_back(train_on_text(cat, name, text));
  };
  // Not JSON, or not an object.
  add("empty", "");
  add("whitespace", "  \n\t ");
  add("truncated", workspace().user.dump().substr(0, 40));
  add("trailing-comma", R"({"seed": 1,})");
  add("comment", "{// hi\n\"seed\": 1}");
  add("single-quotes", "{'seed': 1}");
  add("nan-literal", R"({"optimizer": {"lr": NaN}})");
  add("infinity-literal", R"({"optimizer": {"lr": Infinity}})");
  add("unterminated-string", R"({"name": "abc)");
  add("binary-garbage", std::string("\x00\xff\xfe\x01{\x80", 6));
  add("bad-utf8", "{\"name\": \"\xc3\x28\"}");
  add("top-array", "[1, 2]");
  add("top-number", "42");
  add("top-null", "null");
  add("top-string", "\"train\"");
  add("two-objects", "{} {}");
  add("unterminated-huge-string", "{\"name\": \"" + std::string(5'000'000, 'a'));
  // Nesting: deep enough to overflow a recursive dump or copy.
  for (int depth : {65, 1000, 100000}) {
    add("deep-epochs-" + std::to_string(depth), R"({"train": {"epochs": )" + nested(depth) + "}}");
    std::string objects;
    for (int i = 0; i < depth; ++i) objects += "{\"a\":";
    add("deep-object-" + std::to_string(depth),
        R"({"train": {"epochs": )" + objects + "1" + std::string(depth, '}') + "}}");
  }
  add("deep-unknown-key", R"({"nosuch": )" + nested(100000) + "}");
  add("deep-objects-closed", [] {
    std::string s;
    for (int i = 0; i < 50000; ++i) s += "{\"a\":";
    return s + "1" + std::string(50000, '}');
  }());
  // Huge values.
  add(
      "huge-array", R"({"train": {"epochs": [)" + [] {
        std::string s;
        for (int i = 0; i < 2'000'000; ++i) s += i ? ",1" : "1";
        return s;
      }() + "]}}");
  add("huge-string-value", R"({"train": {"device": ")" + std::string(5'000'000, 'c') + "\"}}");
  add("huge-name", edited([](json& j) { j["name"] = std::string(100000, 'n'); }));
  add("huge-key", "{\"" + std::string(1'000'000, 'k') + "\": 1}");
  add("huge-int", R"({"train": {"epochs": 123456789012345678901234567890}})");
  // Number overflow at several keys.
  for (const char* at : {R"({"optimizer": {"lr": 1e400}})", R"({"train": {"epochs": 1e400}})",
                         R"({"augment": {"hflip": -1e400}})", R"({"seed": 1e999})"})
    add(std::string("overflow-") + std::to_string(cases.size()), at);
  // Duplicate keys at every depth.
  add("duplicate-top", R"({"seed": 1, "seed": 2})");
  add("duplicate-train", R"({"train": {"epochs": 1, "epochs": 2}})");
  add("duplicate-section", R"({"train": {"epochs": 1}, "train": {"epochs": 2}})");
  add("duplicate-synthetic", R"({"data": {"synthetic": {"seed": 1, "seed": 1}}})");
  add("duplicate-model", R"({"model": {"dims": [8,16,32,64], "dims": [8,16,32,64]}})");
  // Unknown keys at every level, and the fixture keys a run config does not take.
  for (const char* pointer :
       {"/nosuch", "/train/epoch", "/model/nosuch", "/data/synthetic/x", "/optimizer/momentum",
        "/augment/flip", "/eval/metric", "/model/input_hw", "/model/batch", "/loss/focal"})
    add(std::string("unknown") + pointer,
        edited([&](json& j) { j[json::json_pointer(pointer)] = 1; }));
  // Wrong types at every leaf.
  for (const auto& leaf : kLeaves) {
    // Two of the wrong kinds per leaf, rotating through them so that every kind is tried.
    const auto values = wrong_values(leaf);
    for (size_t k = 0; k < 2; ++k) {
      const size_t i = (cases.size() + 3 * k) % values.size();
      add("type" + leaf + "-" + std::to_string(i),
          edited([&](json& j) { j[json::json_pointer(leaf)] = values[i]; }));
    }
  }
  // Sections replaced by scalars.
  for (const char* section :
       {"/train", "/model", "/data", "/optimizer", "/augment", "/data/synthetic"})
    add(std::string("section-scalar") + section,
        edited([&](json& j) { j[json::json_pointer(section)] = 3; }));
  // Values of the right type outside their range.
  const std::vector<std::pair<std::string, json>> out_of_range = {
      {"/train/batch_size", 9223372036854775807LL},
      {"/train/batch_size", 0},
      {"/train/batch_size", -4},
      {"/train/batch_size", 18446744073709551615ULL},
      {"/train/epochs", 0},
      {"/train/epochs", -1},
      {"/train/epochs", 9223372036854775807LL},
      {"/train/eval_every", -1},
      {"/train/max_steps_per_epoch", -1},
      {"/train/checkpoint_every", 0},
      {"/seed", -1},
      {"/data/synthetic/seed", -5},
      {"/data/synthetic/size", 8},
      {"/data/synthetic/train", 0},
      {"/optimizer/lr", -1},
      {"/optimizer/lr", 0},
      {"/optimizer/betas", json::array({1.5, 0.9})},
      {"/optimizer/betas", json::array({0.9, -0.1})},
      {"/optimizer/betas", json::array({0.9})},
      {"/optimizer/betas", json::array({0.9, 0.99, 0.999})},
      {"/optimizer/eps", -1e-8},
      {"/optimizer/eps", 0},
      {"/optimizer/weight_decay", -0.1},
      {"/schedule/t_max", 0},
      {"/schedule/eta_min", -1},
      {"/schedule/eta_min", 1.0},
      {"/loss/pixel_weight", -1},
      {"/augment/hflip", 1.5},
      {"/augment/rotate", -0.1},
      {"/eval/threshold", 2},
      {"/augment/policy", "flip"},
      {"/train/device", "tpu"},
      {"/train/precision", "fp8"},
      {"/model/dims", json::array({8, 16, 32})},
      {"/model/dims", json::array({8, 17, 34, 68})},
      {"/model/dims", json::array({0, 0, 0, 0})},
      {"/model/dims", json::array({1 << 30, 1 << 31, 1LL << 32, 1LL << 33})},
      {"/model/depths", json::array({1, 1, 1, 100000})},
      {"/model/depths", json::array()},
      {"/model/num_classes", 0},
      {"/model/num_classes", 1000000000},
      {"/model/in_channels", 2},
      {"/model/d_state", 100000},
      {"/model/drop_path_rate", 1.0},
  };
  for (size_t i = 0; i < out_of_range.size(); ++i) {
    const auto& [pointer, value] = out_of_range[i];
    add("range" + pointer + "-" + std::to_string(i),
        edited([&](json& j) { j[json::json_pointer(pointer)] = value; }));
  }
  return cases;
}

std::vector<Case> set_override_cases() {
  const std::string cat = "set";
  const std::vector<std::string> overrides = {
      "",
      "=",
      "=1",
      "train",
      "train.epochs",
      "train.epochs=",
      "train.epochs=abc",
      "train.epochs=1.5",
      "train.epochs=[1]",
      "train.epochs={\"a\":1}",
      "train.epochs=1e400",
      "train.epochs=" + nested(30000),  // a command-line word holds at most 128 KiB
      "train.epochs=" + nested(70),
      "train.epochs={\"a\":1,\"a\":2}",
      "train.epochs=\"unterminated",
      "train.epochs=[1,",
      "train.epochs.x=1",
      "train=5",
      "train={}x",
      "model=5",
      "model.dims=[1,2]",
      "model.input_hw=[32,32]",
      "model.batch=2",
      "nosuch.key=1",
      "nosuch=1",
      ".=1",
      "..=1",
      "train..epochs=1",
      "train.batch_size=9223372036854775807",
      "train.batch_size=-1",
      "seed=-1",
      "seed=1e400",
      "optimizer.lr=-1",
      "optimizer.betas=[0.9,1.5]",
      "optimizer.betas=[0.9]",
      "train.device=tpu",
      "train.precision=" + std::string(100'000, 'x'),
      "name=" + std::string(100000, 'n'),
      "augment.hflip=NaN",
      "augment.hflip=1e-400x",
  };
  std::vector<Case> cases;
  for (size_t i = 0; i < overrides.size(); ++i) {
    Case c = train_on_text(cat, "set-" + std::to_string(i), workspace().user.dump());
    c.args.push_back("--set");
    c.args.push_back(overrides[i]);
    c.name += ": " + overrides[i].substr(0, 40);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vmunet::robustness
