// The paper's evaluation (DESIGN §3), sharded over the ranks of a run with exact all-reduced
// results: ISIC confusion metrics over all test pixels; Synapse Dice and HD95 per volume and organ.
#pragma once

#include <map>
#include <string>

#include "model/vmunet.h"
#include "storage/dataset_tensors.h"
#include "worker/communicator.h"
#include "worker/losses.h"

namespace vmunet {

struct EvalResult {
  std::map<std::string, double> metrics;  // e.g. dsc, miou, ... or dsc, hd95, dsc/aorta, ...
  // case -> name -> value (Synapse: per volume and organ).
  std::map<std::string, std::map<std::string, double>> cases;
};

// inputs: network inputs (N, C, H, W) on the model's device; masks uint8 (N, H, W). Besides the
// confusion metrics, "loss" is the training loss (BCE + Dice with `loss_weights`) averaged over
// the test samples, whatever the batch size and rank count.
EvalResult evaluate_binary(VMUNet& model, const torch::Tensor& inputs, const torch::Tensor& masks,
                           double threshold, int64_t batch_size, Communicator& comm,
                           const LossWeights& loss_weights = {});

// Each volume's slices resized to `size` (bicubic), argmax, resized back (nearest), then scored.
EvalResult evaluate_volumes(VMUNet& model, const std::vector<VolumeTensors>& volumes,
                            const DatasetMeta& meta, int64_t size, int64_t batch_size,
                            Communicator& comm);

}  // namespace vmunet
