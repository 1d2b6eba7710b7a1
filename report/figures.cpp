#include "report/figures.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "common/error.h"
#include "common/find_program.h"

namespace vmunet::report {
namespace {
namespace fs = std::filesystem;

// A path inside a gnuplot single-quoted string.
std::string gp_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string value(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "NaN"; }

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw Error(path.string() + ": cannot write figure data");
}

// Loss and LR per epoch, and below them the test metrics at each evaluation.
std::string run_figure(const fs::path& data, const fs::path& png, ResultsDb& db, const RunResult& r,
                       const FigureSizes& sizes) {
  const auto epochs = db.epochs(r.run.id);
  if (epochs.empty()) return "";
  const std::string key = r.run.run_key;
  std::string rows = "# epoch loss lr\n";
  for (const auto& e : epochs)
    rows += fmt::format("{} {} {}\n", e.epoch, value(e.loss), value(e.lr));
  write_text(data / ("run-" + key + "-epochs.dat"), rows);

  // The scores on a percent scale (the test loss has its own figure axis in the paper's code,
  // but beside percentages it is unreadable, so it stays in the database).
  std::map<int64_t, std::map<std::string, double>> evals;
  std::set<std::string> names;
  for (const auto& e : db.evaluations(r.run.id))
    if (e.split == "test" && (e.name == "dsc" || e.name == "miou")) {
      evals[e.epoch][e.name] = e.value * 100;
      names.insert(e.name);
    }
  const std::string name = r.config.contains("name") ? r.config["name"].dump() : "";
  std::string gp = fmt::format(
      "set output {}\nset multiplot layout {},1 title {}\n"
      "set xlabel 'epoch'\nset ylabel 'training loss'\nset y2label 'learning rate'\n"
      "set ytics nomirror\nset y2tics\nset key top right\n"
      "plot {} using 1:2 with linespoints title 'loss', '' using 1:3 axes x1y2 with lines "
      "title 'learning rate'\n",
      gp_quote(png.string()), evals.empty() ? 1 : 2,
      gp_quote("run " + key + " " + name + " (" + run_status_name(r.run.status) + ")"),
      gp_quote((data / ("run-" + key + "-epochs.dat")).string()));
  if (!evals.empty()) {
    std::string text = "# epoch dsc miou\n";
    for (const auto& [epoch, v] : evals)
      text += fmt::format("{} {} {}\n", epoch, v.count("dsc") ? value(v.at("dsc")) : "NaN",
                          v.count("miou") ? value(v.at("miou")) : "NaN");
    const auto file = data / ("run-" + key + "-evaluations.dat");
    write_text(file, text);
    gp += "unset y2label\nunset y2tics\nset ytics mirror\nset ylabel 'test (%)'\nplot ";
    gp += fmt::format("{} using 1:2 with linespoints title 'DSC'", gp_quote(file.string()));
    if (names.count("miou")) gp += ", '' using 1:3 with linespoints title 'mIoU'";
    gp += "\n";
  }
  return fmt::format("set terminal pngcairo size {},{}\n", sizes.run_width, sizes.run_height) + gp +
         "unset multiplot\nunset y2tics\nunset y2label\nset ytics mirror\n";
}

// One panel per score column of an ours / paper / difference table: ours as mean ± std error
// bars, the paper's value as points, by setting.
std::string table_figure(const fs::path& data, const fs::path& png, const Table& t,
                         const FigureSizes& sizes) {
  size_t source = 0;
  while (source < t.columns.size() && t.columns[source] != "Source") ++source;
  std::vector<size_t> panels;
  for (size_t c = source + 1; c < t.columns.size(); ++c)
    if (t.columns[c].find("(%)") != std::string::npos) panels.push_back(c);
  if (source == t.columns.size() || panels.empty()) return "";
  std::string gp = fmt::format(
      "set terminal pngcairo size {},{}\nset output {}\nset multiplot layout {},2 title {}\n"
      "set datafile missing 'NaN'\nset offsets 0.5, 0.5, 0, 0\nset key bottom right\n",
      sizes.table_width, sizes.table_height, gp_quote(png.string()), (panels.size() + 1) / 2,
      gp_quote(t.title));
  for (size_t p = 0; p < panels.size(); ++p) {
    const size_t c = panels[p];
    std::string text = "# index setting ours_mean ours_std paper\n";
    int index = 0;
    for (size_t i = 0; i + 1 < t.rows.size(); ++i) {
      const auto& ours = t.rows[i];
      const auto& paper = t.rows[i + 1];
      if (ours[source].text != "ours" || paper[source].text != "paper") continue;
      const Cell& o = ours[c];
      const bool measured = o.kind == Cell::Kind::measured;
      text += fmt::format("{} \"{}\" {} {} {}\n", index++, ours[0].text,
                          measured ? value(o.summary.mean) : "NaN",
                          measured && o.summary.n > 1 ? value(o.summary.std) : "0",
                          paper[c].kind == Cell::Kind::number ? value(paper[c].value) : "NaN");
    }
    const auto file = data / fmt::format("{}-{}.dat", t.id, p);
    write_text(file, text);
    gp += fmt::format(
        "set title {}\nset xlabel {}\nset ylabel '%'\n"
        "plot {} using 1:5:xtic(2) with points pointtype 7 pointsize 1.5 title 'paper', "
        "'' using 1:3:4 with yerrorbars pointtype 5 title 'ours (mean ± std)'\n",
        gp_quote(t.columns[c]), gp_quote(t.columns[0]), gp_quote(file.string()));
  }
  return gp + "unset multiplot\nunset title\nset offsets 0, 0, 0, 0\n";
}

}  // namespace

std::string find_gnuplot() { return find_program("gnuplot"); }

std::vector<std::string> write_figures(const std::string& gnuplot, const std::string& dir,
                                       ResultsDb& db, const std::vector<const RunResult*>& runs,
                                       const std::vector<Table>& ablation_tables,
                                       const FigureSizes& sizes) {
  const fs::path data = fs::path(dir) / "gnuplot";
  fs::create_directories(data);
  std::string script = "set encoding utf8\nset grid\n";
  std::vector<std::string> written;
  db.transaction([&] {
    for (const auto* r : runs) {
      const auto png = fs::path(dir) / ("run-" + r->run.run_key + ".png");
      const std::string gp = run_figure(data, png, db, *r, sizes);
      if (gp.empty()) continue;
      script += gp;
      written.push_back(png.string());
    }
  });
  for (const auto& t : ablation_tables) {
    const auto png = fs::path(dir) / (t.id + ".png");
    const std::string gp = table_figure(data, png, t, sizes);
    if (gp.empty()) continue;
    script += gp;
    written.push_back(png.string());
  }
  if (written.empty()) return written;
  const auto script_path = data / "figures.gp";
  write_text(script_path, script);
  const auto log = data / "gnuplot.log";
  const std::string command = shell_quote(gnuplot) + " " + shell_quote(script_path.string()) +
                              " > " + shell_quote(log.string()) + " 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::ifstream in(log);
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    throw Error(script_path.string() + ": gnuplot failed: " + last + " (full output in " +
                log.string() + ")");
  }
  return written;
}

}  // namespace vmunet::report
