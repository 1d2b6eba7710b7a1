#include "launcher/sweep_status.h"

#include <fmt/format.h>

#include <ctime>
#include <map>
#include <sstream>

#include "common/error.h"
#include "launcher/text_table.h"
#include "storage/results_db.h"
#include "sweep/sweep_spec.h"

namespace vmunet {
namespace {

// Seconds since the epoch of the database's UTC "YYYY-MM-DDTHH:MM:SS.sssZ"; 0 if empty.
double utc_seconds(const std::string& text) {
  if (text.empty()) return 0;
  std::tm tm{};
  double frac = 0;
  if (sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  if (const auto dot = text.find('.'); dot != std::string::npos)
    frac = std::stod("0" + text.substr(dot, 4));
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + frac;
}

std::string duration_text(double seconds) {
  if (seconds <= 0) return "-";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

bool stalled(const RunRecord& run, double now) {
  return run.status == RunStatus::running && run.heartbeat_timeout_s > 0 &&
         !run.heartbeat_at.empty() && now - utc_seconds(run.heartbeat_at) > run.heartbeat_timeout_s;
}

void print_runs(std::ostream& out, ResultsDb& db, const std::string& title,
                const std::vector<RunRecord>& runs, const std::vector<std::string>& paths,
                size_t width) {
  const double now = static_cast<double>(std::time(nullptr));
  std::map<std::string, int> counts;
  int stalls = 0;
  std::vector<std::vector<std::string>> rows{{"run key"}};
  for (const auto& p : paths) rows[0].push_back(p);
  for (const char* h : {"state", "epoch", "elapsed", "eta", "host (devices)", "error"})
    rows[0].push_back(h);
  for (const auto& run : runs) {
    ++counts[run_status_name(run.status)];
    const auto config = nlohmann::json::parse(run.config_json);
    std::vector<std::string> row{run.run_key};
    for (const auto& p : paths) row.push_back(cell_text(value_at(config, p)));
    const bool stall = stalled(run, now);
    stalls += stall;
    row.push_back(std::string(run_status_name(run.status)) + (stall ? " STALLED" : ""));

    const auto epochs = db.epochs(run.id);
    const int64_t total = value_at(config, "train.epochs").is_number_integer()
                              ? value_at(config, "train.epochs").get<int64_t>()
                              : 0;
    const int64_t done = epochs.empty() ? 0 : epochs.back().epoch;
    row.push_back(fmt::format("{}/{}", done, total));
    const double started = utc_seconds(run.started_at), finished = utc_seconds(run.finished_at);
    const double elapsed = started == 0 ? 0 : (finished > 0 ? finished : now) - started;
    row.push_back(duration_text(elapsed));
    double per_epoch = 0;
    for (const auto& e : epochs) per_epoch += e.seconds / epochs.size();
    row.push_back(run.status == RunStatus::running && done > 0
                      ? duration_text(per_epoch * static_cast<double>(total - done))
                      : "-");
    row.push_back(run.host.empty() ? "-" : run.host + " (" + run.devices + ")");
    row.push_back(run.error.empty() ? "-" : run.error);
    rows.push_back(std::move(row));
  }
  std::string summary;
  for (const auto& [state, n] : counts) summary += fmt::format(", {} {}", state, n);
  if (stalls) summary += fmt::format(", {} STALLED", stalls);
  out << title << ": " << runs.size() << " runs" << summary << "\n";
  std::ostringstream table;
  print_table(table, rows);
  std::istringstream lines(table.str());
  for (std::string line; std::getline(lines, line);)
    out << (width > 1 && line.size() > width ? line.substr(0, width - 1) + "~" : line) << "\n";
}

}  // namespace

void print_status(std::ostream& out, const StatusOptions& o) {
  ResultsDb db(o.db_path, ResultsDb::Mode::read_only, 5000);
  db.transaction([&] {  // one snapshot for the whole listing
    auto sweeps = db.sweeps();
    if (!o.sweep.empty()) {
      const auto one = db.find_sweep(o.sweep);
      if (!one) {
        std::string names;
        for (const auto& s : sweeps) names += (names.empty() ? "" : ", ") + s.name;
        throw Error(o.db_path + ": no sweep named '" + o.sweep +
                    "' (known: " + (names.empty() ? "none" : names) + ")");
      }
      sweeps = {*one};
    }
    if (sweeps.empty()) {
      print_runs(out, db, o.db_path, db.runs(), {}, o.width);
      return;
    }
    for (size_t i = 0; i < sweeps.size(); ++i) {
      if (i) out << "\n";
      print_runs(out, db, "sweep " + sweeps[i].name, db.sweep_runs(sweeps[i].id),
                 varying_paths(nlohmann::json::parse(sweeps[i].spec_json)), o.width);
    }
  });
}

}  // namespace vmunet
