// `vmunet predict`: segment new images, slices or volumes with a trained checkpoint
// (predict/predict.h says what is read and written).
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "predict/predict.h"

namespace vmunet::cli {
namespace {

void add_predict(CLI::App& app) {
  auto* sub = app.add_subcommand("predict", "Segment new images or volumes with a trained model");
  auto o = std::make_shared<PredictOptions>();
  auto threshold = std::make_shared<double>(-1);
  sub->add_option("--checkpoint", o->checkpoint,
                  "checkpoint file (runs/<key>/checkpoints/ckpt-N.pt) or run folder (newest)")
      ->required();
  sub->add_option("--input", o->inputs,
                  "image files or folders (PNG/JPEG/BMP/TIFF; binary models), .npy slices or "
                  ".h5 volumes / a prepared dataset's test split (multiclass models)")
      ->required();
  sub->add_option("--out", o->out_dir, "output folder")->required();
  sub->add_option("--threshold", *threshold,
                  "binary models: foreground where P >= this (default: the checkpoint's, 0.5)");
  sub->add_flag("--overlay", o->overlay,
                "also write overlays/<stem>.png (the mask outlined on the image)");
  sub->add_flag("--probabilities", o->probabilities,
                "also write probabilities/<stem>.png (16-bit) or .npy (multiclass)");
  sub->add_option("--device", o->device, "auto, cpu or cuda")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sub->add_option("--batch", o->batch, "images or slices per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->footer(
      "Outputs: <stem>.png masks (binary 0/255; multiclass the class id as grey value), "
      "predictions.h5 (<case>/pred, <case>/label) for volumes.\n"
      "Exit codes: 0 every input segmented; 1 error (bad checkpoint, output folder, options); "
      "2 some inputs were skipped (each named on stderr and in the summary).");
  sub->callback([o, threshold] {
    if (*threshold >= 0) o->threshold = *threshold;
    const PredictSummary s = predict(*o);
    std::cout << "segmented " << s.written << " inputs into " << o->out_dir << "\n";
    if (s.skipped.empty()) return;
    std::cout << s.skipped.size() << " inputs skipped:\n";
    for (const auto& line : s.skipped) std::cout << "  " << line << "\n";
    throw CLI::RuntimeError(2);
  });
}

const bool registered = register_command(add_predict);

}  // namespace
}  // namespace vmunet::cli
