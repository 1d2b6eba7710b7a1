#include "report/sweep_table.h"

#include <spdlog/fmt/fmt.h>

#include <map>
#include <set>

#include "report/metric_columns.h"

namespace vmunet::report {

std::vector<std::string> axis_paths(const nlohmann::ordered_json& spec) {
  std::vector<std::string> paths;
  if (spec.contains("base") && spec["base"].is_array() && spec["base"].size() > 1)
    paths.push_back("name");
  if (spec.contains("axes") && spec["axes"].is_object())
    for (const auto& item : spec["axes"].items()) paths.push_back(item.key());
  if (spec.contains("zip") && spec["zip"].is_array())
    for (const auto& group : spec["zip"])
      if (group.is_object())
        for (const auto& item : group.items()) paths.push_back(item.key());
  return paths;
}

std::string display_value(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array()) return value.dump();
  std::string out;
  for (const auto& v : value) out += (out.empty() ? "" : ",") + display_value(v);
  return out;
}

Table sweep_table(const SweepResults& sweep) {
  const auto paths = axis_paths(sweep.spec);
  // std::map orders the combinations by the JSON values: numbers numerically, strings and arrays
  // lexicographically.
  std::map<std::vector<nlohmann::json>, std::vector<const RunResult*>> groups;
  std::set<std::string> names;
  std::vector<const RunResult*> all;
  for (const auto& r : sweep.runs) {
    std::vector<nlohmann::json> key;
    for (const auto& p : paths) key.push_back(value_at(r.config, p));
    groups[key].push_back(&r);
    all.push_back(&r);
    if (r.run.status == RunStatus::done)
      for (const auto& m : r.metrics) names.insert(m.first);
  }
  const auto metrics = summary_columns({names.begin(), names.end()});

  Table t;
  t.id = "sweep-" + sweep.name;
  t.title = "Sweep " + sweep.name;
  if (sweep.spec.contains("description") && sweep.spec["description"].is_string())
    t.title += ": " + sweep.spec["description"].get<std::string>();
  t.columns = paths;
  t.columns.push_back("done");
  t.measured.assign(t.columns.size(), false);
  for (const auto& m : metrics) {
    t.columns.push_back(m.header);
    t.measured.push_back(true);
  }
  for (const auto& [key, runs] : groups) {
    std::vector<Cell> row;
    for (const auto& v : key)
      row.push_back(v.is_null() ? Cell::missing() : Cell::of_text(display_value(v)));
    int done = 0;
    for (const auto* r : runs) done += r->run.status == RunStatus::done;
    row.push_back(Cell::of_text(fmt::format("{} of {}", done, runs.size())));
    for (const auto& m : metrics) {
      std::vector<double> values;
      for (const auto* r : runs)
        if (r->run.status == RunStatus::done && r->metrics.count(m.name))
          values.push_back(r->metrics.at(m.name) * m.scale);
      row.push_back(values.empty() ? Cell::missing()
                                   : Cell::of_summary(summarize(values), m.decimals));
    }
    t.rows.push_back(std::move(row));
  }
  t.notes.push_back(state_counts(all));
  t.notes.push_back("mean ± sample std over the done runs (seeds) of each row, n of them");
  return t;
}

}  // namespace vmunet::report
