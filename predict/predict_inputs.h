// The pieces of `predict` (predict.h) for each kind of input, sharing one context.
#pragma once

#include <string>
#include <vector>

#include "predict/predict.h"
#include "predict/trained_model.h"
#include "storage/progress.h"
#include "worker/cuda_graphs.h"

namespace vmunet {

struct PredictContext {
  TrainedModel& model;
  const PredictOptions& options;
  double threshold;
  PredictSummary& summary;
  ProgressBar* progress = nullptr;  // one step per input file
  // The network's forward pass for every input: full batches replay a CUDA graph on a GPU.
  CapturedForward* forward = nullptr;

  // Records a skipped input and says so at once (on stderr, through the log).
  void skip(const std::string& file, const std::string& why);
};

// .png .jpg .jpeg .bmp .tif .tiff, any case.
bool is_image_file(const std::string& path);

// Image files and .npy slices; where OpenCV is missing they are skipped, saying so.
void predict_image_files(const std::vector<std::string>& files, PredictContext& context);
void predict_npy_slices(const std::vector<std::string>& files, PredictContext& context);
// .h5 volumes and prepared datasets, into <out>/predictions.h5.
void predict_volume_files(const std::vector<std::string>& files, PredictContext& context);

}  // namespace vmunet
