// Expansion of a sweep spec: base × cartesian product of the axes × zips × seeds, each combination
// resolved like `vmunet train --config BASE --set PATH=VALUE ...`. Runs are identified by the
// resolved config's run key, so two combinations (or two sweeps) asking for the same experiment
// share one run. The queue is ordered longest first by expected cost.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "sweep/run_cost.h"
#include "sweep/sweep_spec.h"

namespace vmunet {

struct PlannedRun {
  std::string run_key;
  nlohmann::json config;                                       // resolved
  std::vector<std::pair<std::string, nlohmann::json>> values;  // at varying_paths(spec)
  double cost = 0;                                             // expected FLOPs; 0: unknown
  std::vector<std::string> missing;  // referenced files that do not exist, "key path" each
};

// One run per distinct run key, longest expected cost first (ties in expansion order).
// `probe` reads a dataset file's size for the cost; without one the cost uses data.synthetic.
std::vector<PlannedRun> expand_sweep(const SweepSpec& spec, const DatasetProbe& probe = {});

// Every missing file of the plan, one "run KEY: key path" line each.
std::vector<std::string> missing_files(const std::vector<PlannedRun>& plan);

}  // namespace vmunet
