#include "model/pretrained.h"

#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <map>

#include "common/error.h"

namespace vmunet {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// `prefix<i>.rest` -> {i, ".rest"}; i = -1 when `key` has no such form.
std::pair<int64_t, std::string> split_stage(const std::string& key, const std::string& prefix) {
  if (key.compare(0, prefix.size(), prefix) != 0) return {-1, ""};
  size_t pos = prefix.size(), end = pos;
  while (end < key.size() && std::isdigit(static_cast<unsigned char>(key[end]))) ++end;
  if (end == pos || end >= key.size() || key[end] != '.') return {-1, ""};
  return {std::stoll(key.substr(pos, end - pos)), key.substr(end)};
}

std::string convert_hint(const std::string& path) {
  const std::string stem = ends_with(path, ".pth") ? path.substr(0, path.size() - 4) : path;
  return "python3 -c \"import torch; from safetensors.torch import save_file; sd = torch.load('" +
         path +
         "', map_location='cpu', weights_only=False); sd = sd.get('model', sd); save_file({k: "
         "v.contiguous() for k, v in sd.items()}, '" +
         stem + ".safetensors')\"";
}

TensorMap read_pth(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open checkpoint");
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string why = e.what();
    why = why.substr(0, why.find('\n'));
    throw Error(path + ": LibTorch cannot read this .pth (" + why +
                "); convert it to safetensors and pass that file instead: " + convert_hint(path));
  }
  if (value.isGenericDict()) {
    auto dict = value.toGenericDict();
    if (dict.contains("model") && dict.at("model").isGenericDict()) value = dict.at("model");
  }
  if (!value.isGenericDict())
    throw Error(path +
                ": expected a state dict (name -> tensor), optionally under 'model'; found " +
                value.tagKind());
  TensorMap out;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor())
      throw Error(path + ": state dict entry " + item.key().tagKind() + " -> " +
                  item.value().tagKind() + " is not a name -> tensor pair");
    out.emplace(item.key().toStringRef(), item.value().toTensor());
  }
  return out;
}

// The skipped keys of one pass as "<pass>: <key>[ -> <loaded as>]: <reason>"; `source` maps a name
// the pass loaded under back to its checkpoint key.
void add_skipped(const LoadReport& r, const std::string& pass,
                 const std::map<std::string, std::string>& source, std::vector<std::string>& out) {
  auto key = [&](const std::string& name) {
    auto it = source.find(name);
    return it == source.end() ? name : it->second + " -> " + name;
  };
  for (const auto& name : r.unexpected)
    out.push_back(pass + ": " + key(name) + ": not in the model");
  for (const auto& line : r.mismatched) {  // "name: file [..] vs model [..]"
    const std::string name = line.substr(0, line.find(": "));
    out.push_back(pass + ": " + key(name) + line.substr(name.size()));
  }
}

}  // namespace

std::string PretrainedReport::summary() const {
  auto skipped_of = [](const LoadReport& r) {
    return std::to_string(r.unexpected.size() + r.mismatched.size());
  };
  return std::to_string(checkpoint_keys) + " checkpoint keys; by name: loaded " +
         std::to_string(by_name.loaded) + ", skipped " + skipped_of(by_name) +
         "; into the decoder (layers.i -> layers_up.(S-1-i)): loaded " +
         std::to_string(decoder.loaded) + ", skipped " + skipped_of(decoder);
}

TensorMap read_checkpoint(const std::string& path) {
  if (ends_with(path, ".safetensors")) return read_safetensors(path).tensors;
  if (ends_with(path, ".pth") || ends_with(path, ".pt")) return read_pth(path);
  throw Error(path + ": unknown checkpoint format; expected a .safetensors or .pth file");
}

PretrainedReport load_pretrained(VMUNet& net, const TensorMap& checkpoint) {
  const int64_t S = net->config().num_stages();
  PretrainedReport report;
  report.checkpoint_keys = static_cast<int64_t>(checkpoint.size());
  report.by_name = load_by_name(*net, checkpoint);

  TensorMap mapped;
  std::map<std::string, std::string> source;  // mapped name -> checkpoint key
  for (const auto& [key, tensor] : checkpoint) {
    const auto [stage, rest] = split_stage(key, "layers.");
    if (stage < 0 || stage >= S) continue;
    const std::string name = "layers_up." + std::to_string(S - 1 - stage) + rest;
    mapped.emplace(name, tensor);
    source.emplace(name, key);
  }
  report.decoder = load_by_name(*net, mapped);

  add_skipped(report.by_name, "by name", {}, report.skipped);
  add_skipped(report.decoder, "decoder", source, report.skipped);
  return report;
}

PretrainedReport load_pretrained(VMUNet& net, const std::string& path) {
  return load_pretrained(net, read_checkpoint(path));
}

}  // namespace vmunet
