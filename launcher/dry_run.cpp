#include "launcher/dry_run.h"

#include <filesystem>
#include <map>
#include <memory>

#include "launcher/text_table.h"
#include "storage/results_db.h"

namespace vmunet {

void print_dry_run(std::ostream& out, const SweepSpec& spec, const std::vector<PlannedRun>& plan,
                   const std::string& db_path) {
  std::map<std::string, std::string> states;
  if (!db_path.empty() && std::filesystem::exists(db_path)) {
    ResultsDb db(db_path, ResultsDb::Mode::read_only);
    for (const auto& run : db.runs()) states[run.run_key] = run_status_name(run.status);
  }
  std::vector<std::vector<std::string>> rows{{"run key"}};
  for (const auto& path : varying_paths(spec)) rows[0].push_back(path);
  for (const char* h : {"expected cost", "state", "missing inputs"}) rows[0].push_back(h);
  double total = 0;
  size_t missing = 0;
  for (const auto& run : plan) {
    std::vector<std::string> row{run.run_key};
    for (const auto& [path, value] : run.values) row.push_back(cell_text(value));
    row.push_back(flop_text(run.cost));
    const auto state = states.find(run.run_key);
    row.push_back(state == states.end() ? "new" : state->second);
    std::string lacking;
    for (const auto& m : run.missing) lacking += (lacking.empty() ? "" : ", ") + m;
    missing += !run.missing.empty();
    row.push_back(lacking.empty() ? "-" : lacking);
    rows.push_back(std::move(row));
    total += run.cost;
  }
  out << "sweep " << spec.name << ": " << plan.size() << " runs, " << spec.gpus_per_run
      << " GPU(s) per run, expected cost " << flop_text(total) << " (longest first)\n";
  if (!spec.description.empty()) out << spec.description << "\n";
  print_table(out, rows);
  if (missing)
    out << missing << " of " << plan.size()
        << " runs reference missing inputs: the sweep will not start until they exist "
           "(vmunet prepare ...)\n";
}

}  // namespace vmunet
