// Weights by name: a name -> tensor map loaded into a module's parameters and buffers, with a
// report of what matched, and a module's tensors saved as safetensors.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "model/safetensors.h"

namespace vmunet {

struct LoadReport {
  int64_t loaded = 0;
  std::vector<std::string> missing;     // module names the map lacks (left unchanged)
  std::vector<std::string> unexpected;  // map names the module lacks
  std::vector<std::string> mismatched;  // "name: file [..] vs model [..]" (left unchanged)

  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  // "loaded N, missing M (a, b, ...), unexpected U (...), shape mismatches S (...)" on one line.
  std::string summary() const;
};

// The weights inside a tensor file. Files that also carry data (the fixtures: `weight.<name>`
// beside `grad.<name>`, `input`, `logits`) mark weights with the prefix "weight.": if any key has
// it, those keys without the prefix, the rest ignored; otherwise every key as it is.
TensorMap model_weights(const TensorMap& file_tensors);

// Copies each tensor into the module's parameter or buffer of that name, converting its dtype and
// device; tensors whose shape differs are reported and not copied.
LoadReport load_by_name(torch::nn::Module& module, const TensorMap& weights);

// read_safetensors + model_weights + load_by_name.
LoadReport load_weights(torch::nn::Module& module, const std::string& path);

// The module's parameters and buffers under their state_dict names.
TensorMap named_tensors(const torch::nn::Module& module);

// Writes named_tensors(module) under plain names.
void save_weights(const torch::nn::Module& module, const std::string& path,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace vmunet
