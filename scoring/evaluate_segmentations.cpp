#include "scoring/evaluate_segmentations.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/version.h"
#include "storage/results_db.h"

namespace vmunet {
namespace {

std::vector<std::string> default_names(int num_classes) {
  if (num_classes == 2) return {"background", "lesion"};
  std::vector<std::string> names{"background"};
  for (int c = 1; c < num_classes; ++c) names.push_back("class" + std::to_string(c));
  return names;
}

torch::Tensor as_tensor(const std::vector<uint8_t>& v) {
  return torch::from_blob(const_cast<uint8_t*>(v.data()), {static_cast<int64_t>(v.size())},
                          torch::kUInt8);
}

}  // namespace

Evaluation evaluate_segmentations(const SegmentationCases& input, int num_classes,
                                  std::vector<std::string> class_names) {
  Evaluation e;
  e.problems = input.problems;
  bool planar = true;
  int largest = 1;
  for (const auto& c : input.cases) {
    planar = planar && c.grid.planar;
    largest = std::max<int>({largest, *std::max_element(c.pred.begin(), c.pred.end()),
                             *std::max_element(c.label.begin(), c.label.end())});
  }
  if (num_classes == 0) num_classes = planar ? std::max(2, largest + 1) : largest + 1;
  if (num_classes < 2) throw Error("--classes must be at least 2 (background and one class)");
  if (largest >= num_classes)
    throw Error("the masks hold class id " + std::to_string(largest) + " but --classes is " +
                std::to_string(num_classes));
  if (class_names.empty()) class_names = default_names(num_classes);
  if (static_cast<int>(class_names.size()) != num_classes)
    throw Error("--class-names gives " + std::to_string(class_names.size()) + " names for " +
                std::to_string(num_classes) + " classes (name the background too)");
  e.class_names = std::move(class_names);
  e.binary_2d = planar && num_classes == 2;

  std::vector<std::vector<OrganScore>> all;
  for (const auto& c : input.cases) {
    e.cases.push_back({c.name, score_volume(c.pred, c.label, c.grid, num_classes)});
    all.push_back(e.cases.back().per_class);
    // The trainer's own confusion counts: predicted where ≥ 0.5, true where ≥ 0.5.
    if (e.binary_2d)
      e.pixels.add(as_tensor(c.pred).to(torch::kFloat), as_tensor(c.label).to(torch::kFloat));
  }
  e.summary = summarize_volumes(all);
  return e;
}

std::string evaluation_csv(const Evaluation& e) {
  std::string out = "case,class,dice,hd95\n";
  for (const auto& c : e.cases)
    for (size_t k = 0; k < c.per_class.size(); ++k)
      out += fmt::format("{},{},{:.6f},{:.6f}\n", c.name, e.class_names[k + 1], c.per_class[k].dice,
                         c.per_class[k].hd95);
  return out;
}

std::string evaluation_text(const Evaluation& e) {
  std::string out = fmt::format("{:<24}", "case");
  for (size_t k = 1; k < e.class_names.size(); ++k)
    out += fmt::format("  {:>12} {:>8}", "dice/" + e.class_names[k], "hd95");
  out += "\n";
  const auto row = [&](const std::string& name, const std::vector<OrganScore>& scores) {
    std::string line = fmt::format("{:<24}", name);
    for (const auto& s : scores) line += fmt::format("  {:>12.4f} {:>8.2f}", s.dice, s.hd95);
    return line + "\n";
  };
  for (const auto& c : e.cases) out += row(c.name, c.per_class);
  out += row("mean", e.summary.per_organ);
  out +=
      fmt::format("mean over {} cases and {} classes: Dice {:.4f}  HD95 {:.2f}\n", e.cases.size(),
                  e.class_names.size() - 1, e.summary.mean.dice, e.summary.mean.hd95);
  if (e.binary_2d) {
    const auto m = e.pixels.metrics();
    out += fmt::format(
        "pixels (ISIC): mIoU {:.4f}  DSC {:.4f}  Acc {:.4f}  Spe {:.4f}  Sen {:.4f}  "
        "(TP {} FP {} FN {} TN {})\n",
        m.miou, m.dsc, m.acc, m.spe, m.sen, e.pixels.tp, e.pixels.fp, e.pixels.fn, e.pixels.tn);
  }
  if (!e.problems.empty()) {
    out += fmt::format("{} inputs not evaluated:\n", e.problems.size());
    for (const auto& p : e.problems) out += "  " + p + "\n";
  }
  return out;
}

std::string store_evaluation(const Evaluation& e, const std::string& db_path,
                             const std::string& run_name, const std::string& pred,
                             const std::string& label) {
  if (run_name.empty()) throw Error("--db needs --run NAME to store the evaluation under");
  ResultsDb db(db_path);
  RunRecord run;
  run.run_key = "external/" + run_name;
  run.status = RunStatus::done;
  run.code_version = version();
  run.config_json =
      nlohmann::json{{"name", run_name}, {"external_evaluation", true},  {"pred", pred},
                     {"label", label},   {"class_names", e.class_names}, {"cases", e.cases.size()}}
          .dump();
  const std::string case_prefix = e.binary_2d ? "case_" : "";
  db.transaction([&] {
    const int64_t id = db.upsert_run(run);
    db.record_metric(id, "test", case_prefix + "dsc", e.summary.mean.dice);
    db.record_metric(id, "test", case_prefix + "hd95", e.summary.mean.hd95);
    for (size_t k = 0; k < e.summary.per_organ.size(); ++k) {
      const std::string& cls = e.class_names[k + 1];
      db.record_metric(id, "test", "dsc/" + cls, e.summary.per_organ[k].dice);
      db.record_metric(id, "test", "hd95/" + cls, e.summary.per_organ[k].hd95);
    }
    for (const auto& c : e.cases)
      for (size_t k = 0; k < c.per_class.size(); ++k) {
        db.record_case(id, "test", c.name, "dsc/" + e.class_names[k + 1], c.per_class[k].dice);
        db.record_case(id, "test", c.name, "hd95/" + e.class_names[k + 1], c.per_class[k].hd95);
      }
    if (e.binary_2d) {
      const auto m = e.pixels.metrics();
      const std::pair<const char*, double> pixel[] = {{"miou", m.miou},
                                                      {"dsc", m.dsc},
                                                      {"acc", m.acc},
                                                      {"spe", m.spe},
                                                      {"sen", m.sen},
                                                      {"tp", double(e.pixels.tp)},
                                                      {"fp", double(e.pixels.fp)},
                                                      {"fn", double(e.pixels.fn)},
                                                      {"tn", double(e.pixels.tn)}};
      for (const auto& [name, value] : pixel) db.record_metric(id, "test", name, value);
    }
  });
  return run.run_key;
}

}  // namespace vmunet
