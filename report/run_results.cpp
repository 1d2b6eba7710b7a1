#include "report/run_results.h"

#include <spdlog/fmt/fmt.h>

#include <sstream>

namespace vmunet::report {

std::vector<SweepResults> load_sweeps(ResultsDb& db) {
  std::vector<SweepResults> out;
  db.transaction([&] {
    for (const auto& sweep : db.sweeps()) {
      SweepResults s;
      s.name = sweep.name;
      s.spec = nlohmann::ordered_json::parse(sweep.spec_json, nullptr, false);
      if (s.spec.is_discarded() || !s.spec.is_object()) s.spec = nlohmann::ordered_json::object();
      for (auto& run : db.sweep_runs(sweep.id)) {
        RunResult r;
        r.config = nlohmann::json::parse(run.config_json, nullptr, false);
        if (r.config.is_discarded()) r.config = nlohmann::json::object();
        for (const auto& m : db.metrics(run.id))
          if (m.split == "test") r.metrics[m.name] = m.value;
        r.run = std::move(run);
        s.runs.push_back(std::move(r));
      }
      out.push_back(std::move(s));
    }
  });
  return out;
}

std::string state_counts(const std::vector<const RunResult*>& runs) {
  if (runs.empty()) return "runs: none recorded";
  // In the order a reader acts on: still to come, then ended without a result.
  const RunStatus order[] = {RunStatus::running, RunStatus::pending, RunStatus::preempted,
                             RunStatus::failed,  RunStatus::oom,     RunStatus::diverged};
  std::map<RunStatus, int> counts;
  for (const auto* r : runs) ++counts[r->run.status];
  std::string out = fmt::format("runs: {} of {} done", counts[RunStatus::done], runs.size());
  std::string rest;
  for (RunStatus s : order)
    if (counts[s])
      rest += fmt::format("{}{} {}", rest.empty() ? "" : ", ", counts[s], run_status_name(s));
  return out + (rest.empty() ? "; all done" : "; not yet done: " + rest);
}

nlohmann::json value_at(const nlohmann::json& config, const std::string& dotted) {
  const nlohmann::json* node = &config;
  std::istringstream parts(dotted);
  for (std::string key; std::getline(parts, key, '.');) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return *node;
}

}  // namespace vmunet::report
