// A sweep's runs as the report sees them: status, resolved config and reported test metrics, read
// in one snapshot of the results database (a sweep may be writing it).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "storage/results_db.h"

namespace vmunet::report {

struct RunResult {
  RunRecord run;
  nlohmann::json config;                  // the resolved run config
  std::map<std::string, double> metrics;  // split "test": the run's reported evaluation
};

struct SweepResults {
  std::string name;
  nlohmann::ordered_json spec;  // as stored, in the file's key order ({} when unknown)
  std::vector<RunResult> runs;
};

// Every sweep in the database, by name.
std::vector<SweepResults> load_sweeps(ResultsDb& db);

// "runs: 4 of 7 done; not yet done: 2 pending, 1 failed" (or "...; all done", or "no runs").
std::string state_counts(const std::vector<const RunResult*>& runs);

// The value at a dotted path of a config, or null when absent.
nlohmann::json value_at(const nlohmann::json& config, const std::string& dotted);

}  // namespace vmunet::report
