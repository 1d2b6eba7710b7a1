#include "sweep/sweep_spec.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "sweep/sweep_json.h"
#include "worker/run_config.h"

namespace vmunet {
namespace {

using json = nlohmann::json;

const std::set<std::string> kKeys{"name",  "base",         "axes",       "zip",
                                  "seeds", "gpus_per_run", "description"};

std::string known_keys() {
  std::string list;
  for (const auto& k : kKeys) list += (list.empty() ? "" : ", ") + k;
  return list;
}

// One dotted path → list of values, each checked by resolving it over the first base.
SweepAxis parse_axis(const std::string& at, const std::string& dotted, const json& values,
                     const json& base_user) {
  if (!values.is_array())
    throw Error(at + "." + dotted + ": expected a list of values, found " + values.dump());
  if (values.empty()) throw Error(at + "." + dotted + ": empty list (give at least one value)");
  if (dotted == "seed") throw Error(at + ".seed: vary seeds with the spec's \"seeds\" key");
  SweepAxis axis{dotted, {}};
  for (size_t i = 0; i < values.size(); ++i) {
    try {
      resolve_run_config(base_user, {dotted + "=" + values[i].dump()});
    } catch (const Error& e) {
      throw Error(at + "." + dotted + "[" + std::to_string(i) + "]: " + e.what());
    }
    axis.second.push_back(values[i]);
  }
  return axis;
}

std::vector<SweepAxis> parse_axes(const std::string& at, const json& axes, const json& base_user) {
  if (!axes.is_object())
    throw Error(at + ": expected an object of dotted config paths to lists of values");
  std::vector<SweepAxis> out;
  for (const auto& item : axes.items())
    out.push_back(parse_axis(at, item.key(), item.value(), base_user));
  return out;
}

}  // namespace

SweepSpec parse_sweep_spec(const json& spec, const std::string& path) {
  try {
    if (!spec.is_object()) throw Error("expected a JSON object");
    for (const auto& item : spec.items())
      if (!kKeys.count(item.key()))
        throw Error(item.key() + ": unknown key (known: " + known_keys() + ")");
    SweepSpec s;
    s.path = path;
    s.source = spec;
    if (!spec.contains("name") || !spec["name"].is_string() ||
        spec["name"].get<std::string>().empty())
      throw Error("name: expected a non-empty string (the sweep's name in the database)");
    s.name = spec["name"];
    if (spec.contains("description")) {
      if (!spec["description"].is_string()) throw Error("description: expected a string");
      s.description = spec["description"];
    }

    if (!spec.contains("base")) throw Error("base: missing (a run config path, or a list)");
    const json bases = spec["base"].is_string() ? json::array({spec["base"]}) : spec["base"];
    if (!bases.is_array() || bases.empty())
      throw Error("base: expected a run config path or a non-empty list of them");
    const auto dir = std::filesystem::path(path).parent_path();
    for (const auto& b : bases) {
      if (!b.is_string()) throw Error("base: expected paths (strings), found " + b.dump());
      s.bases.push_back((dir / b.get<std::string>()).lexically_normal().string());
    }
    std::vector<json> users;
    for (const auto& b : s.bases) {
      users.push_back(read_json_file(b, "run config"));
      try {
        resolve_run_config(users.back());
      } catch (const Error& e) {
        throw Error("base: " + b + ": " + e.what());
      }
    }

    std::set<std::string> seen;
    auto note = [&](const SweepAxis& axis, const std::string& at) {
      if (!seen.insert(axis.first).second)
        throw Error(at + "." + axis.first + ": this path is varied twice");
    };
    if (spec.contains("axes")) {
      s.axes = parse_axes("axes", spec["axes"], users.front());
      for (const auto& a : s.axes) note(a, "axes");
    }
    if (spec.contains("zip")) {
      if (!spec["zip"].is_array()) throw Error("zip: expected a list of objects");
      for (size_t z = 0; z < spec["zip"].size(); ++z) {
        const std::string at = "zip[" + std::to_string(z) + "]";
        auto group = parse_axes(at, spec["zip"][z], users.front());
        if (group.empty()) throw Error(at + ": empty (give two or more paths)");
        for (const auto& a : group) {
          note(a, at);
          if (a.second.size() != group.front().second.size())
            throw Error(at + "." + a.first + ": " + std::to_string(a.second.size()) +
                        " values, but " + at + "." + group.front().first + " has " +
                        std::to_string(group.front().second.size()) +
                        " (zipped lists vary together: give them equal lengths)");
        }
        s.zips.push_back(std::move(group));
      }
    }
    if (spec.contains("seeds")) {
      const auto& seeds = spec["seeds"];
      if (!seeds.is_array() || seeds.empty())
        throw Error("seeds: expected a non-empty list of integers");
      for (const auto& v : seeds) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0)
          throw Error("seeds: expected non-negative integers, found " + v.dump());
        s.seeds.push_back(v.get<int64_t>());
      }
    }
    if (spec.contains("gpus_per_run")) {
      const auto& g = spec["gpus_per_run"];
      if (!g.is_number_integer() || g.get<int64_t>() < 1)
        throw Error("gpus_per_run: expected a positive integer, found " + g.dump());
      s.gpus_per_run = g.get<int64_t>();
    }
    return s;
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

SweepSpec load_sweep_spec(const std::string& path) {
  return parse_sweep_spec(read_json_file(path, "sweep spec"), path);
}

std::vector<std::string> varying_paths(const SweepSpec& spec) { return varying_paths(spec.source); }

std::vector<std::string> varying_paths(const json& source) {
  std::vector<std::string> paths;
  if (source.contains("base") && source["base"].is_array() && source["base"].size() > 1)
    paths.push_back("name");
  if (source.contains("axes") && source["axes"].is_object())
    for (const auto& a : source["axes"].items()) paths.push_back(a.key());
  if (source.contains("zip") && source["zip"].is_array())
    for (const auto& z : source["zip"])
      if (z.is_object())
        for (const auto& a : z.items()) paths.push_back(a.key());
  if (source.contains("seeds")) paths.push_back("seed");
  return paths;
}

json value_at(const json& config, const std::string& dotted) {
  const json* node = &config;
  size_t begin = 0;
  while (true) {
    const size_t dot = dotted.find('.', begin);
    const std::string key = dotted.substr(begin, dot - begin);
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
    if (dot == std::string::npos) return *node;
    begin = dot + 1;
  }
}

}  // namespace vmunet
