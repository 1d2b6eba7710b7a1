#include "report/report.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "report/figures.h"
#include "report/run_results.h"
#include "report/sweep_table.h"

namespace vmunet::report {
namespace fs = std::filesystem;
namespace {

std::vector<int> chosen_tables(const std::string& tables) {
  if (tables.empty()) return {};
  if (tables == "all") return {1, 2, 3, 4, 5, 6};
  if (tables.size() == 1 && tables[0] >= '1' && tables[0] <= '6') return {tables[0] - '0'};
  throw Error("--table " + tables + ": expected 1..6 or all");
}

const SweepResults& find(const std::vector<SweepResults>& sweeps, const std::string& name,
                         const std::string& db_path) {
  for (const auto& s : sweeps)
    if (s.name == name) return s;
  std::string known;
  for (const auto& s : sweeps) known += (known.empty() ? "" : ", ") + s.name;
  throw Error("--sweep " + name + ": no such sweep in " + db_path +
              " (it has: " + (known.empty() ? "none" : known) + ")");
}

}  // namespace

void write_report(const ReportOptions& o, std::ostream& out, std::ostream& err) {
  ResultsDb db(o.db_path, ResultsDb::Mode::read_only);
  const auto sweeps = load_sweeps(db);
  const auto numbers = chosen_tables(o.tables);

  std::vector<Table> tables, ablations;
  std::vector<const RunResult*> runs;  // the figures' runs, each once
  std::set<int64_t> seen;
  auto take_runs = [&](const SweepResults& s) {
    for (const auto& r : s.runs)
      if (seen.insert(r.run.id).second) runs.push_back(&r);
  };
  std::vector<std::string> names = o.sweeps;
  if (names.empty() && numbers.empty())
    for (const auto& s : sweeps) names.push_back(s.name);
  for (const auto& name : names) {
    const auto& s = find(sweeps, name, o.db_path);
    tables.push_back(sweep_table(s));
    take_runs(s);
  }
  for (int n : numbers) {
    tables.push_back(paper_table(n, sweeps, o.model_facts));
    if (n >= 3) ablations.push_back(tables.back());
    for (const auto& s : sweeps)
      if (feeds_table(s.name, n)) take_runs(s);
  }
  if (tables.empty()) out << "no sweeps recorded in " << o.db_path << "\n";

  if (o.out_dir.empty()) {
    for (size_t i = 0; i < tables.size(); ++i)
      out << (i ? "\n" : "") << render(tables[i], o.format);
  } else {
    fs::create_directories(o.out_dir);
    for (const auto& t : tables) {
      const auto path = fs::path(o.out_dir) / (t.id + "." + format_extension(o.format));
      std::ofstream file(path);
      file << render(t, o.format);
      if (!file) throw Error(path.string() + ": cannot write the table");
      out << path.string() << "\n";
    }
  }

  if (o.figures_dir.empty()) return;
  const std::string gnuplot = find_gnuplot();
  if (gnuplot.empty()) {
    err << "vmunet: gnuplot not found on PATH, so no figures in " << o.figures_dir
        << " (install gnuplot-nox: scripts/install_deps.sh); the tables are written\n";
    return;
  }
  for (const auto& path : write_figures(gnuplot, o.figures_dir, db, runs, ablations))
    out << path << "\n";
}

}  // namespace vmunet::report
