// `vmunet evaluate`: scores predicted segmentations against references with the trainer's own
// metric code (metrics/): per case and class Dice and HD95 (DESIGN §3 edge cases; 2D masks use
// the in-plane 4-connected surface), their means, and for binary 2D sets the ISIC pixel metrics
// over all pixels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/confusion_metrics.h"
#include "metrics/volume_metrics.h"
#include "scoring/segmentation_cases.h"

namespace vmunet {

struct CaseScores {
  std::string name;
  std::vector<OrganScore> per_class;  // element c − 1 holds class c
};

struct Evaluation {
  std::vector<std::string> class_names;  // index = class id (0 background)
  std::vector<CaseScores> cases;         // sorted by name
  std::vector<std::string> problems;     // unpaired or unreadable inputs, one line each
  VolumeSummary summary;                 // means over cases, per class and over classes
  bool binary_2d = false;
  BinaryConfusion pixels;  // binary 2D sets: over every pixel of every case
};

// `num_classes` 0: 2 for PNG folders, else the largest id found plus one. `class_names` empty:
// "background", "class1", … (binary: "background", "lesion"); otherwise one name per class.
Evaluation evaluate_segmentations(const SegmentationCases& cases, int num_classes,
                                  std::vector<std::string> class_names);

// The CSV: header `case,class,dice,hd95`, then one row per case and foreground class (class by
// name), in case then class order; numbers with 6 decimals.
std::string evaluation_csv(const Evaluation& evaluation);

// Per-case lines, the means per class and overall, and the pixel metrics of binary 2D sets.
std::string evaluation_text(const Evaluation& evaluation);

// Stores the evaluation in the results database as run `external/<run_name>` (config_json says
// it is an external evaluation of `pred` against `label`), with the trainer's metric names:
// split "test", `dsc`/`hd95` (mean over classes) and `dsc/<class>`, `hd95/<class>`, plus per-case
// rows; binary 2D sets also get the pixel metrics `miou`, `dsc`, `acc`, `spe`, `sen`, `tp`, …, and
// then the case means are named `case_dsc` and `case_hd95`. Returns the run key.
std::string store_evaluation(const Evaluation& evaluation, const std::string& db_path,
                             const std::string& run_name, const std::string& pred,
                             const std::string& label);

}  // namespace vmunet
