// The network's hyper-parameters (DESIGN §2) and their JSON form. The JSON is the `model` section
// of a run config, or a model file such as the fixtures' `model` metadata string.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <vector>

namespace vmunet {

struct ModelConfig {
  std::vector<int64_t> dims{96, 192, 384, 768};  // encoder stage widths
  std::vector<int64_t> depths{2, 2, 2, 2};       // VSS blocks per encoder stage
  std::vector<int64_t> depths_decoder{2, 2, 2, 1};
  int64_t num_classes = 1;
  int64_t in_channels = 3;  // 1 (CT) is repeated to 3 before the patch embedding
  int64_t d_state = 16;
  double drop_path_rate = 0.2;

  int64_t num_stages() const { return static_cast<int64_t>(depths.size()); }
  // Input sides must be multiples of this (patch 4, then one halving per merge).
  int64_t size_multiple() const { return int64_t{4} << (num_stages() - 1); }
};

// Parses and validates; throws vmunet::Error naming the key at fault (prefixed by `where`).
// `dims` (list) or `embed_dim` (C, giving C·2^i). Keys `input_hw` and `batch` are accepted and
// ignored so that a fixture's metadata works as a model file.
ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& where = "model");
nlohmann::json model_config_to_json(const ModelConfig& c);

// Reads a model JSON file; errors name the file.
ModelConfig load_model_config(const std::string& path);

}  // namespace vmunet
