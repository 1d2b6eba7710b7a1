// A trained checkpoint ready to segment new data: the network with its weights, and what the
// checkpoint says about how it was trained (task, classes, input size, normalisation).
#pragma once

#include <torch/types.h>

#include <string>

#include "model/vmunet.h"
#include "worker/checkpoint.h"

namespace vmunet {

struct TrainedModel {
  InferenceMeta meta;
  VMUNet model{nullptr};   // in eval mode on the chosen device
  std::string checkpoint;  // the file loaded
};

// `path` is a checkpoint file, a run folder or its checkpoints/ folder (then the newest intact
// checkpoint). A checkpoint written before checkpoints carried their inference metadata falls
// back to its run folder's config.json and the attributes of the dataset file named there; when
// those are gone too, throws Error saying so.
TrainedModel load_trained_model(const std::string& path, const torch::Device& device);

}  // namespace vmunet
