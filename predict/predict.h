// `vmunet predict`: a trained checkpoint segments new data.
//
// Inputs by kind: image files (.png .jpg .jpeg .bmp .tif .tiff) or folders of them; .npy slices
// (H, W) in [0, 1] (multiclass models); .h5 files, either a prepared dataset (its test volumes, or
// its test images when it has none) or a case file with an `image` dataset (D, H, W) in [0, 1]
// and optionally a `label` (TransUNet's test_vol_h5 layout).
//
// Outputs, per image or slice `<stem>` (masks straight in the output folder, so that it can be
// given to `vmunet evaluate --pred`):
//   <out>/<stem>.png                  mask: binary 0/255; multiclass the class id as grey value
//   <out>/probabilities/<stem>.png    --probabilities, binary: P(foreground), 16-bit, 65535 = 1
//   <out>/probabilities/<stem>.npy    --probabilities, multiclass: softmax (K, H, W) float32
//   <out>/overlays/<stem>.png         --overlay: the image with each class tinted and outlined
//                                     (image_io.h palette: class 1 green, 2 red, 3 blue,
//                                     4 yellow, 5 magenta, 6 cyan, 7 orange, 8 violet)
// and per volume `<case>` (multiclass): <out>/predictions.h5 groups `<case>/pred` uint8 (D, H, W)
// and, when the input has it, `<case>/label`, ready for `vmunet evaluate`; with --probabilities
// <out>/probabilities/<case>.npy (D, K, H, W) float32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmunet {

struct PredictOptions {
  std::string checkpoint;  // file, run folder or checkpoints folder (trained_model.h)
  std::vector<std::string> inputs;
  std::string out_dir;
  std::optional<double> threshold;  // binary models; default: the checkpoint's (0.5)
  bool overlay = false, probabilities = false;
  std::string device = "auto";  // auto | cpu | cuda
  int64_t batch = 8;
};

struct PredictSummary {
  int64_t written = 0;               // images, slices and volumes segmented
  std::vector<std::string> skipped;  // one line each: "<file>: <why>"
};

// Unreadable, corrupt or unsupported inputs are skipped and listed (and logged as they happen),
// never abort the others. Throws Error for problems with the checkpoint or the output folder.
PredictSummary predict(const PredictOptions& options);

}  // namespace vmunet
