// Weights and inputs for `forward` that must be refused: truncated, lying header lengths and
// offsets, invalid or deeply nested header JSON, unknown or wrong dtypes, NaN and infinity,
// shapes that do not fit the model. Nothing may be written to --output.
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>

#include "model/safetensors.h"
#include "model/weights.h"
#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {
namespace {

using json = nlohmann::json;

struct Parts {
  json header;
  std::string data;
};

Parts split(const std::string& file) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(file[i]);
  return {json::parse(file.substr(8, length)), file.substr(8 + length)};
}

std::string assemble(const std::string& header, const std::string& data, uint64_t length) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(length >> (8 * i));
  return out + header + data;
}

std::string assemble(const json& header, const std::string& data) {
  const std::string text = header.dump();
  return assemble(text, data, text.size());
}

// The first tensor entry's name in a header (not __metadata__).
std::string first_tensor(const json& header) {
  for (const auto& item : header.items())
    if (item.key() != "__metadata__") return item.key();
  return "";
}

std::string deep(int depth) {
  return std::string(static_cast<size_t>(depth), '[') +
         std::string(static_cast<size_t>(depth), ']');
}

Case forward_case(const std::string& name, const std::string& weights, const std::string& input,
                  const std::string& dir) {
  Case c;
  c.category = "safetensors";
  c.name = name;
  c.args = {"forward", "--model",  workspace().model,       "--weights", weights, "--input",
            input,     "--output", dir + "/out.safetensors"};
  c.absent = {dir + "/out.safetensors", dir + "/out.safetensors.tmp"};
  c.guarded = {workspace().weights, workspace().input};
  return c;
}

std::string file_of(const TensorMap& tensors) {
  const std::string path = workspace().dir + "/scratch.safetensors";
  write_safetensors(path, tensors);
  return read_bytes(path);
}

}  // namespace

std::vector<Case> safetensors_cases() {
  const Workspace& w = workspace();
  const std::string weights = read_bytes(w.weights), input = read_bytes(w.input);
  const TensorMap good_weights = read_safetensors(w.weights).tensors;
  const torch::Tensor x = read_safetensors(w.input).tensors.at("input");

  // Byte-level damage applied to either file.
  std::vector<std::pair<std::string, std::function<std::string(const std::string&)>>> damage = {
      {"empty", [](const std::string&) { return std::string(); }},
      {"seven-bytes", [](const std::string& f) { return f.substr(0, 7); }},
      {"header-length-zero", [](const std::string& f) { return assemble("", f.substr(8), 0); }},
      {"header-length-huge",
       [](const std::string& f) { return assemble("", f.substr(8), ~uint64_t{0}); }},
      {"header-length-past-end",
       [](const std::string& f) { return assemble("", f.substr(8), f.size() - 7); }},
      {"header-not-json",
       [](const std::string& f) {
         const Parts p = split(f);
         std::string h = p.header.dump();
         h[h.size() / 2] = '\x01';
         return assemble(h, p.data, h.size());
       }},
      {"header-array",
       [](const std::string& f) { return assemble(json::array({1}), split(f).data); }},
      {"header-deep-extra-key",
       [](const std::string& f) {
         const Parts p = split(f);
         std::string h = p.header.dump();
         h.insert(1, "\"deep\":" + deep(100000) + ",");
         return assemble(h, p.data, h.size());
       }},
      {"header-deep-metadata",
       [](const std::string& f) {
         const Parts p = split(f);
         std::string h = p.header.dump();
         h.insert(1, "\"__metadata__\":{\"m\":" + deep(100000) + "},");
         return assemble(h, p.data, h.size());
       }},
      {"header-duplicate-tensor",
       [](const std::string& f) {
         const Parts p = split(f);
         const std::string name = first_tensor(p.header);
         std::string h = p.header.dump();
         h.insert(1, json(name).dump() + ":" + p.header[name].dump() + ",");
         return assemble(h, p.data, h.size());
       }},
      {"metadata-not-strings",
       [](const std::string& f) {
         Parts p = split(f);
         p.header["__metadata__"] = {{"a", 1}};
         return assemble(p.header, p.data);
       }},
      {"huge-tensor-name",
       [](const std::string& f) {
         Parts p = split(f);
         const std::string name = first_tensor(p.header);
         p.header[std::string(1'000'000, 'n')] = p.header[name];
         p.header.erase(name);
         return assemble(p.header, p.data);
       }},
      {"entry-not-object",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)] = 5;
         return assemble(p.header, p.data);
       }},
      {"no-data-offsets",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)].erase("data_offsets");
         return assemble(p.header, p.data);
       }},
      {"dtype-unknown",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)]["dtype"] = "F8";
         return assemble(p.header, p.data);
       }},
      {"dtype-number",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)]["dtype"] = 4;
         return assemble(p.header, p.data);
       }},
      {"dtype-i32",
       [](const std::string& f) {
         Parts p = split(f);
         for (auto& item : p.header.items())
           if (item.key() != "__metadata__") item.value()["dtype"] = "I32";
         return assemble(p.header, p.data);
       }},
      {"offsets-reversed",
       [](const std::string& f) {
         Parts p = split(f);
         auto& o = p.header[first_tensor(p.header)]["data_offsets"];
         o = json::array({o[1], o[0]});
         return assemble(p.header, p.data);
       }},
      {"offsets-past-end",
       [](const std::string& f) {
         Parts p = split(f);
         auto& o = p.header[first_tensor(p.header)]["data_offsets"];
         o = json::array({o[0], o[1].get<uint64_t>() + (uint64_t{1} << 40)});
         return assemble(p.header, p.data);
       }},
      {"offsets-negative",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)]["data_offsets"] = json::array({-4, 0});
         return assemble(p.header, p.data);
       }},
      {"offsets-overlap",
       [](const std::string& f) {
         Parts p = split(f);
         for (auto& item : p.header.items())
           if (item.key() != "__metadata__" && item.value()["data_offsets"][0] != 0) {
             auto& o = item.value()["data_offsets"];
             o = json::array({o[0].get<uint64_t>() - 4, o[1].get<uint64_t>() - 4});
             break;
           }
         return assemble(p.header, p.data);
       }},
      {"data-gap",
       [](const std::string& f) {
         Parts p = split(f);
         return assemble(p.header, p.data + "abcd");
       }},
      {"shape-negative",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)]["shape"] = json::array({-1, 4});
         return assemble(p.header, p.data);
       }},
      {"shape-overflow",
       [](const std::string& f) {
         Parts p = split(f);
         p.header[first_tensor(p.header)]["shape"] =
             json::array({uint64_t{1} << 40, uint64_t{1} << 40, uint64_t{1} << 40});
         return assemble(p.header, p.data);
       }},
      {"shape-not-span",
       [](const std::string& f) {
         Parts p = split(f);
         auto& shape = p.header[first_tensor(p.header)]["shape"];
         shape.push_back(2);
         return assemble(p.header, p.data);
       }},
  };
  for (double fraction : {0.01, 0.1, 0.5, 0.9, 0.999}) {
    damage.push_back({"truncated-" + std::to_string(static_cast<int>(fraction * 1000)),
                      [fraction](const std::string& f) {
                        return f.substr(
                            0, static_cast<size_t>(fraction * static_cast<double>(f.size())));
                      }});
  }

  std::vector<Case> cases;
  for (const auto& [name, damaged] : damage) {
    for (const bool on_weights : {true, false}) {
      if (name == "offsets-overlap" && !on_weights) continue;  // the input holds one tensor
      const std::string case_name = (on_weights ? "weights-" : "input-") + name;
      const std::string dir = case_dir("safetensors", case_name);
      const std::string path = dir + "/damaged.safetensors";
      write_bytes(path, damaged(on_weights ? weights : input));
      cases.push_back(
          forward_case(case_name, on_weights ? path : w.weights, on_weights ? w.input : path, dir));
    }
  }

  // Well-formed files whose tensors are wrong for the model.
  const auto with = [&](std::function<void(TensorMap&)> edit) {
    TensorMap t = good_weights;
    edit(t);
    return file_of(t);
  };
  const std::string some = good_weights.begin()->first;
  const std::vector<std::pair<std::string, std::string>> bad_weights = {
      {"weights-f64", with([](TensorMap& t) {
         for (auto& [k, v] : t) v = v.to(torch::kDouble);
       })},
      {"weights-one-i32", with([&](TensorMap& t) { t[some] = t[some].to(torch::kInt); })},
      {"weights-one-u8", with([&](TensorMap& t) { t[some] = t[some].to(torch::kByte); })},
      {"weights-nan", with([&](TensorMap& t) { t[some] = t[some].clone().fill_(NAN); })},
      {"weights-one-inf", with([&](TensorMap& t) {
         t[some] = t[some].clone();
         t[some].view(-1)[0] = INFINITY;
       })},
      {"weights-missing-tensor", with([&](TensorMap& t) { t.erase(some); })},
      {"weights-extra-tensor", with([](TensorMap& t) { t["extra.weight"] = torch::ones({2}); })},
      {"weights-wrong-shape", with([&](TensorMap& t) {
         t[some] = torch::zeros({3, 3});
       })},
      {"weights-empty-file", file_of({})},
  };
  for (const auto& [name, bytes] : bad_weights) {
    const std::string dir = case_dir("safetensors", name);
    write_bytes(dir + "/w.safetensors", bytes);
    cases.push_back(forward_case(name, dir + "/w.safetensors", w.input, dir));
  }
  const std::vector<std::pair<std::string, torch::Tensor>> bad_inputs = {
      {"input-i32", x.to(torch::kInt)},
      {"input-f64", x.to(torch::kDouble)},
      {"input-u8", x.to(torch::kByte)},
      {"input-bool", x > 0.5},
      {"input-nan", x.clone().fill_(NAN)},
      {"input-one-inf",
       [&] {
         auto t = x.clone();
         t.view(-1)[5] = -INFINITY;
         return t;
       }()},
      {"input-3d", x[0]},
      {"input-5d", x.unsqueeze(0)},
      {"input-1-channel", x.narrow(1, 0, 1)},
      {"input-height-30", x.narrow(2, 0, 30)},
      {"input-width-16", x.narrow(3, 0, 16)},
      {"input-empty-batch", x.narrow(0, 0, 0)},
  };
  for (const auto& [name, tensor] : bad_inputs) {
    const std::string dir = case_dir("safetensors", name);
    write_bytes(dir + "/x.safetensors", file_of({{"input", tensor}}));
    cases.push_back(forward_case(name, w.weights, dir + "/x.safetensors", dir));
  }
  {
    const std::string dir = case_dir("safetensors", "input-misnamed");
    write_bytes(dir + "/x.safetensors", file_of({{"image", x}}));
    cases.push_back(forward_case("input-misnamed", w.weights, dir + "/x.safetensors", dir));
  }
  // Legitimate: half-precision weights, a batch of two.
  {
    const std::string dir = case_dir("safetensors", "weights-f16");
    write_bytes(dir + "/w.safetensors", with([](TensorMap& t) {
                  for (auto& [k, v] : t) v = v.to(torch::kHalf);
                }));
    write_bytes(dir + "/x.safetensors", file_of({{"input", torch::cat({x, x})}}));
    Case c = forward_case("f16 weights, batch 2 (legitimate)", dir + "/w.safetensors",
                          dir + "/x.safetensors", dir);
    c.legitimate = true;
    const std::string out = dir + "/out.safetensors";
    c.check = [out](const Outcome&) -> std::string {
      const auto t = read_safetensors(out).tensors;
      if (!t.count("output") || t.at("output").size(0) != 2) return "no output of batch 2";
      if (!torch::isfinite(t.at("output")).all().item<bool>()) return "output not finite";
      return "";
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vmunet::robustness
