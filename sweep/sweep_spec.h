// A sweep spec: one JSON that names base run configs and the values to vary, expanded by
// sweep_expand.h into one resolved run config per combination (DESIGN §6).
//
//   {"name": "table4", "description": "...",
//    "base": "../isic17.json"  or  ["../isic17.json", "../isic18.json"],   (relative to the spec)
//    "axes": {"model.drop_path_rate": [0.0, 0.1, 0.2, 0.3]},               (cartesian product)
//    "zip": [{"model.depths": [...], "model.depths_decoder": [...]}],      (vary together)
//    "seeds": [1, 2, 3], "gpus_per_run": 1}
//
// Every error is one line naming the spec file and the key (a dotted config path for axes and
// zips), e.g. `t.json: axes.model.foo: unknown key (known here: ...)`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vmunet {

// Dotted config path and its values, in the spec's order.
using SweepAxis = std::pair<std::string, std::vector<nlohmann::json>>;

struct SweepSpec {
  std::string path;  // the spec file, for messages
  std::string name, description;
  std::vector<std::string> bases;            // run config files, resolved against the spec's folder
  std::vector<SweepAxis> axes;               // each varies on its own
  std::vector<std::vector<SweepAxis>> zips;  // the axes of one zip vary together
  std::vector<int64_t> seeds;                // empty: each base's own seed
  int64_t gpus_per_run = 1;
  nlohmann::json source;  // the spec as written (stored in sweeps.spec_json)
};

// Parses and validates `spec`; `path` names it in errors and relative bases are taken from its
// folder. Axis values are checked against the first base (unknown path, wrong type) here.
SweepSpec parse_sweep_spec(const nlohmann::json& spec, const std::string& path);

// Reads a spec file (errors name the file) and parses it.
SweepSpec load_sweep_spec(const std::string& path);

// The dotted paths whose values tell a sweep's runs apart: "name" when there are several bases,
// then the axes, the zips' paths, and "seed" when the spec lists seeds.
std::vector<std::string> varying_paths(const SweepSpec& spec);
// The same from the spec as written (e.g. a database's sweeps.spec_json), without reading bases.
std::vector<std::string> varying_paths(const nlohmann::json& source);

// The value at a dotted path of a resolved config, or null when it has none.
nlohmann::json value_at(const nlohmann::json& config, const std::string& dotted);

}  // namespace vmunet
