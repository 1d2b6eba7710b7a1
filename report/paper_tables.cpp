#include "report/paper_tables.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "report/sweep_table.h"

namespace vmunet::report {
namespace {

using nlohmann::json;
using Match = std::function<bool(const json& config)>;

const json& paper() {
  static const json tables = json::parse(paper_tables_json());
  return tables;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string file_stem(const json& config, const char* path) {
  const json v = value_at(config, path);
  return v.is_string() ? lower(std::filesystem::path(v.get<std::string>()).stem().string()) : "";
}

std::string dataset_in(const std::string& text) {
  for (const auto& [needle, dataset] : {std::pair{"isic2017", "isic17"},
                                        {"isic17", "isic17"},
                                        {"isic2018", "isic18"},
                                        {"isic18", "isic18"},
                                        {"synapse", "synapse"}})
    if (text.find(needle) != std::string::npos) return dataset;
  return "";
}

std::string init_label(const json& config) {
  const json v = value_at(config, "train.init");
  const std::string init = v.is_string() ? lower(v.get<std::string>()) : "";
  if (init.empty()) return "none";
  if (init.find("tiny") != std::string::npos) return "VMamba-T";
  if (init.find("small") != std::string::npos) return "VMamba-S";
  return std::filesystem::path(init).filename().string();
}

int64_t input_size(const json& config) {
  const std::string stem = file_stem(config, "data.path");
  const auto dash = stem.rfind('-');
  if (dash == std::string::npos) return 0;
  try {
    return std::stoll(stem.substr(dash + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

std::optional<double> paper_value(const json& row, const std::string& key) {
  if (!row.contains(key) || row[key].is_null()) return std::nullopt;
  return row[key].get<double>();
}

// The done runs among `runs` that `match` and hold `metric`, summarised (scaled to percent).
std::optional<Summary> measure(const std::vector<const RunResult*>& runs, const Match& match,
                               const std::string& metric, double scale) {
  std::vector<double> values;
  for (const auto* r : runs)
    if (r->run.status == RunStatus::done && match(r->config) && r->metrics.count(metric))
      values.push_back(r->metrics.at(metric) * scale);
  if (values.empty()) return std::nullopt;
  return summarize(values);
}

// One column of an ours / paper / difference block.
struct Compared {
  Cell ours;
  std::optional<double> ours_value, paper;
  int decimals = 2;
};

Compared compared(const std::optional<Summary>& ours, std::optional<double> paper,
                  int decimals = 2) {
  if (!ours) return {Cell::missing(), std::nullopt, paper, decimals};
  return {Cell::of_summary(*ours, decimals), ours->mean, paper, decimals};
}

Cell number_or_dash(std::optional<double> v, int decimals, bool sign = false) {
  return v ? Cell::of_number(*v, decimals, sign) : Cell::missing();
}

std::vector<Cell> lead_cells(const std::vector<std::string>& lead, const std::string& source) {
  std::vector<Cell> row;
  for (const auto& s : lead) row.push_back(Cell::of_text(s));
  row.push_back(Cell::of_text(source));
  return row;
}

void add_compared(Table& t, const std::vector<std::string>& lead,
                  const std::vector<Compared>& cells) {
  auto ours = lead_cells(lead, "ours"), paper_row = lead_cells(lead, "paper"),
       diff = lead_cells(lead, "ours - paper");
  for (const auto& c : cells) {
    ours.push_back(c.ours);
    paper_row.push_back(number_or_dash(c.paper, c.decimals));
    diff.push_back(c.ours_value && c.paper
                       ? Cell::of_number(*c.ours_value - *c.paper, c.decimals, true)
                       : Cell::missing());
  }
  t.rows.push_back(std::move(ours));
  t.rows.push_back(std::move(paper_row));
  t.rows.push_back(std::move(diff));
}

void add_quoted(Table& t, const std::vector<std::string>& lead, const json& row,
                const std::vector<std::string>& keys) {
  auto cells = lead_cells(lead, "quoted");
  for (const auto& k : keys) cells.push_back(number_or_dash(paper_value(row, k), 2));
  t.rows.push_back(std::move(cells));
}

const char* roman(int n) {
  static const char* numerals[] = {"I", "II", "III", "IV", "V", "VI"};
  return numerals[n - 1];
}

// The runs of the sweeps feeding table `number`, each once.
std::vector<const RunResult*> table_runs(const std::vector<SweepResults>& sweeps, int number) {
  std::vector<const RunResult*> runs;
  std::set<int64_t> seen;
  for (const auto& s : sweeps)
    if (feeds_table(s.name, number))
      for (const auto& r : s.runs)
        if (seen.insert(r.run.id).second) runs.push_back(&r);
  return runs;
}

Match on_dataset(const std::string& dataset, Match setting) {
  return [dataset, setting](const json& c) { return dataset_of(c) == dataset && setting(c); };
}

Table table_1(const std::vector<const RunResult*>& runs, Match& any_row) {
  const auto& p = paper()["table1"];
  Table t;
  t.columns = {"Dataset", "Model",   "Source",  "mIoU (%)",
               "DSC (%)", "Acc (%)", "Spe (%)", "Sen (%)"};
  const std::vector<std::string> keys{"miou", "dsc", "acc", "spe", "sen"};
  for (const auto& [dataset, label] : {std::pair{"isic17", "ISIC17"}, {"isic18", "ISIC18"}}) {
    const Match match = on_dataset(dataset, [](const json&) { return true; });
    for (const auto& row : p[dataset]) {
      if (row["model"] != "VM-UNet") continue;
      std::vector<Compared> cells;
      for (const auto& k : keys)
        cells.push_back(compared(measure(runs, match, k, 100), paper_value(row, k)));
      add_compared(t, {label, "VM-UNet"}, cells);
    }
    for (const auto& row : p[dataset])
      if (row["model"] != "VM-UNet") add_quoted(t, {label, row["model"]}, row, keys);
  }
  any_row = [](const json& c) { return dataset_of(c) == "isic17" || dataset_of(c) == "isic18"; };
  return t;
}

Table table_2(const std::vector<const RunResult*>& runs, Match& any_row) {
  const auto& p = paper()["table2"];
  // Paper column, our organ name (the Synapse class names).
  const std::vector<std::pair<std::string, std::string>> organs{
      {"aorta", "aorta"},          {"gallbladder", "gallbladder"},
      {"kidney_l", "kidney_left"}, {"kidney_r", "kidney_right"},
      {"liver", "liver"},          {"pancreas", "pancreas"},
      {"spleen", "spleen"},        {"stomach", "stomach"}};
  Table t;
  t.columns = {"Model", "Source", "DSC (%)", "HD95"};
  for (const char* header : {"Aorta", "Gallbladder", "Kidney (L)", "Kidney (R)", "Liver",
                             "Pancreas", "Spleen", "Stomach"})
    t.columns.push_back(header);
  any_row = [](const json& c) { return dataset_of(c) == "synapse"; };
  const Match match = any_row;
  for (const auto& row : p["rows"]) {
    if (row["model"] != "VM-UNet") continue;
    std::vector<Compared> cells{
        compared(measure(runs, match, "dsc", 100), paper_value(row, "dsc")),
        compared(measure(runs, match, "hd95", 1), paper_value(row, "hd95"))};
    for (const auto& [key, organ] : organs)
      cells.push_back(compared(measure(runs, match, "dsc/" + organ, 100), paper_value(row, key)));
    add_compared(t, {"VM-UNet"}, cells);
    // The paper gives no per-organ HD95; ours sits in its own row under the organ columns.
    auto hd95 = lead_cells({"VM-UNet"}, "ours, HD95 per organ");
    hd95.push_back(Cell::missing());
    hd95.push_back(cells[1].ours);
    for (const auto& entry : organs) {
      const auto m = measure(runs, match, "hd95/" + entry.second, 1);
      hd95.push_back(m ? Cell::of_summary(*m, 2) : Cell::missing());
    }
    t.rows.insert(t.rows.end() - 2, std::move(hd95));
  }
  std::vector<std::string> keys{"dsc", "hd95"};
  for (const auto& entry : organs) keys.push_back(entry.first);
  for (const auto& row : p["rows"])
    if (row["model"] != "VM-UNet") add_quoted(t, {row["model"]}, row, keys);
  t.notes.push_back(
      "HD95: ours in voxels of the test volumes (unit spacing), the paper's in mm; per organ: "
      "dsc/<organ>, hd95/<organ>");
  return t;
}

// Tables III–VI: one block per paper row (a setting), columns ISIC17 and ISIC18 mIoU and DSC.
struct Setting {
  std::string label;
  Match match;
  std::vector<Compared> lead;  // Table V's parameters and GFLOPs
};

Table ablation(const std::string& key, const std::string& header,
               const std::vector<std::string>& lead_columns,
               const std::vector<const RunResult*>& runs, const std::vector<Setting>& settings) {
  const auto& rows = paper()[key]["rows"];
  Table t;
  t.columns = {header, "Source"};
  t.columns.insert(t.columns.end(), lead_columns.begin(), lead_columns.end());
  const std::vector<std::pair<std::string, std::string>> metrics{
      {"isic17", "miou"}, {"isic17", "dsc"}, {"isic18", "miou"}, {"isic18", "dsc"}};
  for (const auto& [dataset, metric] : metrics)
    t.columns.push_back((dataset == "isic17" ? "ISIC17 " : "ISIC18 ") +
                        std::string(metric == "miou" ? "mIoU (%)" : "DSC (%)"));
  for (size_t i = 0; i < settings.size(); ++i) {
    std::vector<Compared> cells = settings[i].lead;
    for (const auto& [dataset, metric] : metrics)
      cells.push_back(compared(measure(runs, on_dataset(dataset, settings[i].match), metric, 100),
                               paper_value(rows[i], dataset + "_" + metric)));
    add_compared(t, {settings[i].label}, cells);
  }
  return t;
}

Match any_of(const std::vector<Setting>& settings) {
  return [settings](const json& c) {
    const std::string d = dataset_of(c);
    if (d != "isic17" && d != "isic18") return false;
    for (const auto& s : settings)
      if (s.match(c)) return true;
    return false;
  };
}

Table table_3(const std::vector<const RunResult*>& runs, Match& any_row) {
  std::vector<Setting> settings;
  for (const auto& row : paper()["table3"]["rows"]) {
    const std::string init = row["init"];
    settings.push_back({init, [init](const json& c) { return init_label(c) == init; }, {}});
  }
  any_row = any_of(settings);
  auto t = ablation("table3", "Initial weights", {}, runs, settings);
  t.notes.push_back(
      "initial weights from train.init: none, or VMamba-T / VMamba-S by \"tiny\" / "
      "\"small\" in the checkpoint's file name");
  return t;
}

Table table_4(const std::vector<const RunResult*>& runs, Match& any_row) {
  std::vector<Setting> settings;
  for (const auto& row : paper()["table4"]["rows"]) {
    const double rate = row["drop_path_rate"];
    settings.push_back({fmt::format("{:.1f}", rate),
                        [rate](const json& c) {
                          const json v = value_at(c, "model.drop_path_rate");
                          return v.is_number() && std::abs(v.get<double>() - rate) < 1e-9;
                        },
                        {}});
  }
  any_row = any_of(settings);
  return ablation("table4", "Drop-path rate", {}, runs, settings);
}

Table table_5(const std::vector<const RunResult*>& runs, Match& any_row,
              const ModelFactsFn& facts) {
  std::vector<Setting> settings;
  for (const auto& row : paper()["table5"]["rows"]) {
    const auto depths = row["depths"].get<std::vector<int64_t>>();
    const auto decoder = row["depths_decoder"].get<std::vector<int64_t>>();
    Setting s{display_value(row["depths"]) + "-" + display_value(row["depths_decoder"]),
              [depths, decoder](const json& c) {
                return value_at(c, "model.depths") == json(depths) &&
                       value_at(c, "model.depths_decoder") == json(decoder);
              },
              {}};
    std::optional<ModelFacts> f;
    if (facts) f = facts(depths, decoder);
    // Ours: the exact count in millions (6 decimals are every digit), GFLOPs to the paper's 2.
    s.lead.push_back(f ? Compared{Cell::of_number(f->parameters / 1e6, 6), f->parameters / 1e6,
                                  paper_value(row, "params_m"), 2}
                       : Compared{Cell::missing(), std::nullopt, paper_value(row, "params_m"), 2});
    s.lead.push_back(
        f ? Compared{Cell::of_number(f->gflops, 2), f->gflops, paper_value(row, "gflops"), 2}
          : Compared{Cell::missing(), std::nullopt, paper_value(row, "gflops"), 2});
    settings.push_back(std::move(s));
  }
  any_row = any_of(settings);
  auto t = ablation("table5", "Depths (encoder-decoder)", {"Params (M)", "GFLOPs"}, runs, settings);
  t.notes.push_back(
      "Params and GFLOPs computed from the model (1 class, 256x256 input; GFLOPs as the paper "
      "counts them: Conv2d/Linear multiply-adds and LayerNorm, not the scan)");
  return t;
}

Table table_6(const std::vector<const RunResult*>& runs, Match& any_row) {
  std::vector<Setting> settings;
  for (const auto& row : paper()["table6"]["rows"]) {
    const int64_t size = row["input"];
    settings.push_back({fmt::format("{}x{}", size, size),
                        [size](const json& c) { return input_size(c) == size; },
                        {}});
  }
  any_row = any_of(settings);
  auto t = ablation("table6", "Input", {}, runs, settings);
  t.notes.push_back("input size read from data.path's file name, <dataset>-<size>.h5");
  return t;
}

}  // namespace

bool feeds_table(const std::string& sweep_name, int number) {
  const std::string name = "table" + std::to_string(number);
  return sweep_name == name || sweep_name.rfind(name + "-", 0) == 0;
}

std::string dataset_of(const json& config) {
  const std::string from_path = dataset_in(file_stem(config, "data.path"));
  if (!from_path.empty()) return from_path;
  const json name = value_at(config, "name");
  return name.is_string() ? dataset_in(lower(name.get<std::string>())) : "";
}

Table paper_table(int number, const std::vector<SweepResults>& sweeps,
                  const ModelFactsFn& model_facts) {
  if (number < 1 || number > 6)
    throw Error("--table " + std::to_string(number) + ": expected 1..6 or all");
  const auto runs = table_runs(sweeps, number);
  Match any_row;
  Table t = number == 1   ? table_1(runs, any_row)
            : number == 2 ? table_2(runs, any_row)
            : number == 3 ? table_3(runs, any_row)
            : number == 4 ? table_4(runs, any_row)
            : number == 5 ? table_5(runs, any_row, model_facts)
                          : table_6(runs, any_row);
  const std::string key = "table" + std::to_string(number);
  t.id = key;
  // Every score column after Source holds our measurements (Table V's model facts do not).
  t.measured.assign(t.columns.size(), false);
  bool after_source = false;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    t.measured[i] = after_source && t.columns[i] != "Params (M)" && t.columns[i] != "GFLOPs";
    after_source = after_source || t.columns[i] == "Source";
  }
  t.title = fmt::format("Table {}: {}", roman(number), paper()[key]["title"].get<std::string>());
  std::vector<std::string> notes{
      state_counts(runs) + " (sweeps " + key + ", " + key + "-*)",
      "ours: mean ± sample std over the done runs (seeds), n of them; paper: the published "
      "value; quoted: the paper's other baselines, not run here; — not measured"};
  int unmatched = 0;
  for (const auto* r : runs) unmatched += !any_row(r->config);
  if (unmatched)
    notes.push_back(fmt::format("{} run(s) of these sweeps match no row of this table", unmatched));
  t.notes.insert(t.notes.begin(), notes.begin(), notes.end());
  return t;
}

}  // namespace vmunet::report
