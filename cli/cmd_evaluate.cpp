// `vmunet evaluate`: score predicted segmentations against references with the trainer's metric
// code (scoring/evaluate_segmentations.h), optionally into a CSV, the results database and a
// gallery of the best, median and worst cases.
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "common/error.h"
#include "scoring/gallery.h"
#include "worker/checkpoint.h"

namespace vmunet::cli {
namespace {

struct EvaluateArgs {
  std::string pred, label, csv, db, run, images, gallery;
  int classes = 0;
  std::vector<std::string> class_names;
};

// True when every file was paired and scored.
bool run_evaluate(const EvaluateArgs& a) {
  if (a.gallery.empty() != a.images.empty())
    throw Error("--gallery and --images go together (the gallery draws on the images)");
  const SegmentationCases cases = load_segmentation_cases(a.pred, a.label, a.classes <= 2);
  const Evaluation e = evaluate_segmentations(cases, a.classes, a.class_names);
  std::cout << evaluation_text(e);
  if (!a.csv.empty()) {
    write_file_atomically(a.csv, evaluation_csv(e));
    std::cout << "wrote " << a.csv << "\n";
  }
  if (!a.db.empty())
    std::cout << "stored as run " << store_evaluation(e, a.db, a.run, a.pred, a.label) << " in "
              << a.db << "\n";
  if (!a.gallery.empty())
    for (const auto& path : write_gallery(e, cases, a.images, a.gallery))
      std::cout << "wrote " << path << "\n";
  return e.problems.empty();
}

void add_evaluate(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "evaluate", "Score predicted segmentations against references (Dice, HD95, ISIC metrics)");
  auto a = std::make_shared<EvaluateArgs>();
  sub->add_option("--pred", a->pred, "folder of PNG masks, or .h5 file of <case>/pred volumes")
      ->required();
  sub->add_option("--label", a->label,
                  "folder of reference PNG masks (ISIC <stem>_Segmentation.png understood), or "
                  ".h5 file of <case>/label volumes (may be the --pred file)")
      ->required();
  sub->add_option("--classes", a->classes,
                  "number of classes with background (default: 2 for PNG, largest id + 1 for .h5)")
      ->check(CLI::Range(2, 255));
  sub->add_option("--class-names", a->class_names, "names by class id, background first")
      ->delimiter(',');
  sub->add_option("--out", a->csv, "CSV file: case,class,dice,hd95 (one row per case and class)");
  sub->add_option("--db", a->db, "results database to store the scores in (needs --run)");
  sub->add_option("--run", a->run, "name of the run the scores are stored under");
  sub->add_option("--images", a->images, "folder of the cases' images, for --gallery");
  sub->add_option("--gallery", a->gallery,
                  "folder for gallery_<class>.png: best, median and worst case by Dice");
  sub->footer(
      "HD95 is in pixels (unit spacing). Unpaired or unreadable files are listed and not "
      "scored. Exit codes: 0 all paired and scored; 1 error; 2 some files were not scored.");
  sub->callback([a] {
    if (!run_evaluate(*a)) throw CLI::RuntimeError(2);
  });
}

const bool registered = register_command(add_evaluate);

}  // namespace
}  // namespace vmunet::cli
