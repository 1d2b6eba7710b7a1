#include "sweep/sweep_expand.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/error.h"
#include "sweep/sweep_json.h"
#include "worker/run_config.h"

namespace vmunet {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// One choice per dimension: an axis, a zip (its paths together), the seed.
struct Dimension {
  std::vector<std::string> paths;
  std::vector<std::vector<json>> choices;  // choices[i][p]: value of paths[p] in choice i
};

std::vector<Dimension> dimensions(const SweepSpec& spec) {
  std::vector<Dimension> dims;
  for (const auto& [path, values] : spec.axes) {
    Dimension d{{path}, {}};
    for (const auto& v : values) d.choices.push_back({v});
    dims.push_back(std::move(d));
  }
  for (const auto& zip : spec.zips) {
    Dimension d;
    for (const auto& axis : zip) d.paths.push_back(axis.first);
    for (size_t i = 0; i < zip.front().second.size(); ++i) {
      std::vector<json> choice;
      for (const auto& axis : zip) choice.push_back(axis.second[i]);
      d.choices.push_back(std::move(choice));
    }
    dims.push_back(std::move(d));
  }
  if (!spec.seeds.empty()) {
    Dimension d{{"seed"}, {}};
    for (const int64_t s : spec.seeds) d.choices.push_back({s});
    dims.push_back(std::move(d));
  }
  return dims;
}

std::string fmt_overrides(const std::vector<std::string>& overrides) {
  std::string text;
  for (const auto& o : overrides) text += (text.empty() ? "" : " ") + o;
  return text.empty() ? "no overrides" : text;
}

std::vector<std::string> missing_inputs(const json& config) {
  std::vector<std::string> missing;
  const std::string data = config["data"]["path"];
  if (data.empty())
    missing.push_back("data.path (empty)");
  else if (!fs::exists(data) && !config["data"]["synthetic"]["if_missing"].get<bool>())
    missing.push_back("data.path " + data);
  const std::string init = config["train"]["init"];
  if (!init.empty() && !fs::exists(init)) missing.push_back("train.init " + init);
  return missing;
}

// Runs that would make the same missing synthetic file with different settings would each
// train on whichever was written first.
void check_synthetic_paths(const std::vector<PlannedRun>& plan, const std::string& where) {
  std::map<std::string, json> made;
  for (const auto& run : plan) {
    const auto& data = run.config["data"];
    const std::string path = data["path"];
    if (path.empty() || fs::exists(path) || !data["synthetic"]["if_missing"].get<bool>()) continue;
    auto [it, fresh] = made.emplace(path, data["synthetic"]);
    if (!fresh && it->second != data["synthetic"])
      throw Error(where + ": data.path " + path +
                  " is made on first use with different data.synthetic settings by different "
                  "runs; give each setting its own data.path");
  }
}

}  // namespace

std::vector<PlannedRun> expand_sweep(const SweepSpec& spec, const DatasetProbe& probe) {
  const auto dims = dimensions(spec);
  const auto shown = varying_paths(spec);
  std::vector<PlannedRun> plan;
  std::map<std::string, size_t> index;  // run key → position in plan
  for (const auto& base : spec.bases) {
    const json user = read_json_file(base, "run config");
    std::vector<size_t> pick(dims.size(), 0);
    while (true) {
      std::vector<std::string> overrides;
      for (size_t d = 0; d < dims.size(); ++d)
        for (size_t p = 0; p < dims[d].paths.size(); ++p)
          overrides.push_back(dims[d].paths[p] + "=" + dims[d].choices[pick[d]][p].dump());
      PlannedRun run;
      try {
        run.config = resolve_run_config(user, overrides);
      } catch (const Error& e) {
        throw Error(spec.path + ": base " + base + " with " + fmt_overrides(overrides) + ": " +
                    e.what());
      }
      run.run_key = run_key(run.config);
      if (!index.count(run.run_key)) {
        for (const auto& path : shown) run.values.emplace_back(path, value_at(run.config, path));
        run.cost = expected_cost(run.config, probe);
        run.missing = missing_inputs(run.config);
        index[run.run_key] = plan.size();
        plan.push_back(std::move(run));
      }
      size_t d = 0;  // odometer: the last dimension turns fastest
      for (d = dims.size(); d-- > 0;) {
        if (++pick[d] < dims[d].choices.size()) break;
        pick[d] = 0;
      }
      if (d == static_cast<size_t>(-1)) break;
    }
  }
  check_synthetic_paths(plan, spec.path);
  std::stable_sort(plan.begin(), plan.end(),
                   [](const PlannedRun& a, const PlannedRun& b) { return a.cost > b.cost; });
  return plan;
}

std::vector<std::string> missing_files(const std::vector<PlannedRun>& plan) {
  std::vector<std::string> lines;
  for (const auto& run : plan)
    for (const auto& m : run.missing) lines.push_back("run " + run.run_key + ": " + m);
  return lines;
}

}  // namespace vmunet
