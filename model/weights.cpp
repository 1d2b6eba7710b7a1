#include "model/weights.h"

#include <torch/torch.h>

#include <sstream>

namespace vmunet {
namespace {

const std::string kWeightPrefix = "weight.";

std::string shape_str(c10::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

// "N (a, b, c, ... and K more)": enough names to act on without flooding one line.
std::string listed(const std::vector<std::string>& names) {
  constexpr size_t kShown = 5;
  std::string out = std::to_string(names.size());
  if (names.empty()) return out;
  out += " (";
  for (size_t i = 0; i < names.size() && i < kShown; ++i)
    out += (i ? ", " : "") + names[i].substr(0, 80);  // a damaged file may hold huge names
  if (names.size() > kShown) out += ", ... and " + std::to_string(names.size() - kShown) + " more";
  return out + ")";
}

}  // namespace

std::string LoadReport::summary() const {
  return "loaded " + std::to_string(loaded) + ", missing " + listed(missing) + ", unexpected " +
         listed(unexpected) + ", shape mismatches " + listed(mismatched);
}

TensorMap model_weights(const TensorMap& file_tensors) {
  TensorMap prefixed;
  for (const auto& [name, t] : file_tensors)
    if (name.compare(0, kWeightPrefix.size(), kWeightPrefix) == 0)
      prefixed.emplace(name.substr(kWeightPrefix.size()), t);
  return prefixed.empty() ? file_tensors : prefixed;
}

LoadReport load_by_name(torch::nn::Module& module, const TensorMap& weights) {
  LoadReport report;
  torch::NoGradGuard no_grad;
  TensorMap targets = named_tensors(module);
  for (auto& [name, target] : targets) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      report.missing.push_back(name);
    } else if (it->second.sizes() != target.sizes()) {
      report.mismatched.push_back(name + ": file " + shape_str(it->second.sizes()) + " vs model " +
                                  shape_str(target.sizes()));
    } else {
      target.copy_(it->second);
      ++report.loaded;
    }
  }
  for (const auto& [name, t] : weights)
    if (!targets.count(name)) report.unexpected.push_back(name);
  return report;
}

LoadReport load_weights(torch::nn::Module& module, const std::string& path) {
  return load_by_name(module, model_weights(read_safetensors(path).tensors));
}

TensorMap named_tensors(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& item : module.named_parameters()) out.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace(item.key(), item.value());
  return out;
}

void save_weights(const torch::nn::Module& module, const std::string& path,
                  const std::map<std::string, std::string>& metadata) {
  write_safetensors(path, named_tensors(module), metadata);
}

}  // namespace vmunet
