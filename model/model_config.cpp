#include "model/model_config.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

#include "common/error.h"
#include "common/json_parse.h"

namespace vmunet {
namespace {

// Caps far above any real VM-UNet, low enough that no product of them overflows or asks for
// terabytes: a typo must fail here, not as an allocation failure deep in LibTorch.
constexpr int64_t kMaxWidth = 8192, kMaxDepth = 64, kMaxStages = 8, kMaxClasses = 1024;

int64_t positive_int(const nlohmann::json& j, const std::string& path, int64_t max) {
  if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(max)) ||
      j.get<int64_t>() <= 0 || j.get<int64_t>() > max)
    throw Error(path + ": expected an integer in 1.." + std::to_string(max) + ", found " +
                brief(j));
  return j.get<int64_t>();
}

std::vector<int64_t> positive_ints(const nlohmann::json& j, const std::string& path, int64_t max) {
  if (!j.is_array() || j.empty() || j.size() > kMaxStages)
    throw Error(path + ": expected a list of 1.." + std::to_string(kMaxStages) +
                " integers, found " + brief(j));
  std::vector<int64_t> out;
  for (size_t i = 0; i < j.size(); ++i)
    out.push_back(positive_int(j[i], path + "[" + std::to_string(i) + "]", max));
  return out;
}

}  // namespace

ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  static const std::set<std::string> known = {
      "dims",        "embed_dim", "depths",         "depths_decoder", "num_classes",
      "in_channels", "d_state",   "drop_path_rate", "input_hw",       "batch"};
  for (const auto& item : j.items())
    if (!known.count(item.key()))
      throw Error(where + "." + item.key() + ": unknown key (known: dims, embed_dim, depths, " +
                  "depths_decoder, num_classes, in_channels, d_state, drop_path_rate)");

  ModelConfig c;
  if (j.contains("depths")) c.depths = positive_ints(j["depths"], where + ".depths", kMaxDepth);
  if (j.contains("depths_decoder"))
    c.depths_decoder = positive_ints(j["depths_decoder"], where + ".depths_decoder", kMaxDepth);
  if (c.depths.size() != c.depths_decoder.size())
    throw Error(where + ".depths_decoder: needs as many stages as depths (" +
                std::to_string(c.depths.size()) + "), found " +
                std::to_string(c.depths_decoder.size()));
  if (j.contains("dims") && j.contains("embed_dim"))
    throw Error(where + ": give either dims or embed_dim, not both");
  if (j.contains("dims")) {
    c.dims = positive_ints(j["dims"], where + ".dims", kMaxWidth);
  } else {
    const int64_t embed = j.contains("embed_dim")
                              ? positive_int(j["embed_dim"], where + ".embed_dim", kMaxWidth >> 3)
                              : 96;
    c.dims.clear();
    for (size_t i = 0; i < c.depths.size(); ++i) c.dims.push_back(embed << i);
  }
  if (c.dims.size() != c.depths.size())
    throw Error(where + ".dims: needs one width per stage (" + std::to_string(c.depths.size()) +
                "), found " + std::to_string(c.dims.size()));
  for (size_t i = 1; i < c.dims.size(); ++i)
    if (c.dims[i] != 2 * c.dims[i - 1])
      throw Error(where +
                  ".dims: each stage must double the previous width (patch merging), found " +
                  brief(j["dims"]));
  if (c.dims[0] % 4 != 0)
    throw Error(where + ".dims[0]: must be a multiple of 4 (the final 4x4 expansion)");
  if (j.contains("num_classes"))
    c.num_classes = positive_int(j["num_classes"], where + ".num_classes", kMaxClasses);
  if (j.contains("in_channels")) {
    c.in_channels = positive_int(j["in_channels"], where + ".in_channels", 3);
    if (c.in_channels != 1 && c.in_channels != 3)
      throw Error(where + ".in_channels: must be 1 or 3, found " + std::to_string(c.in_channels));
  }
  if (j.contains("d_state")) c.d_state = positive_int(j["d_state"], where + ".d_state", 256);
  if (j.contains("drop_path_rate")) {
    const auto& v = j["drop_path_rate"];
    if (!v.is_number() || v.get<double>() < 0 || v.get<double>() >= 1)
      throw Error(where + ".drop_path_rate: expected a number in [0, 1), found " + brief(v));
    c.drop_path_rate = v.get<double>();
  }
  return c;
}

nlohmann::json model_config_to_json(const ModelConfig& c) {
  return {{"dims", c.dims},
          {"depths", c.depths},
          {"depths_decoder", c.depths_decoder},
          {"num_classes", c.num_classes},
          {"in_channels", c.in_channels},
          {"d_state", c.d_state},
          {"drop_path_rate", c.drop_path_rate}};
}

ModelConfig load_model_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open model file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return model_config_from_json(parse_json(text, path), path);
}

}  // namespace vmunet
