// Valid inputs every generator starts from (made once per test run in a temporary folder): a
// tiny synthetic dataset, a run config that trains one step on it, a results database, a model
// with its weights and an input for `forward`, and a few ISIC-style image/mask pairs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace vmunet::robustness {

struct Workspace {
  std::string dir;
  std::string data;     // synthetic binary dataset, 32x32
  std::string config;   // run config training one step on `data`
  nlohmann::json user;  // the same config as JSON
  std::string db;       // an existing results database (guarded: errors must not touch it)
  std::string model, weights, input;  // for `forward`
  std::string images, masks;          // six valid pairs ISIC_000000{0..5}, 40x40
};

const Workspace& workspace();

// A fresh folder for one case's files, under the workspace.
std::string case_dir(const std::string& category, const std::string& name);

}  // namespace vmunet::robustness
