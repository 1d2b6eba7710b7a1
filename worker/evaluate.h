// The paper's evaluation (DESIGN §3), sharded over the ranks of a run with exact all-reduced
// results: ISIC confusion metrics over all test pixels; Synapse Dice and HD95 per volume and organ.
#pragma once

#include <map>
#include <string>

#include "model/vmunet.h"
#include "storage/dataset_tensors.h"
#include "worker/communicator.h"
#include "worker/cuda_graphs.h"
#include "worker/losses.h"

namespace vmunet {

struct EvalResult {
  std::map<std::string, double> metrics;  // e.g. dsc, miou, ... or dsc, hd95, dsc/aorta, ...
  // case -> name -> value (Synapse: per volume and organ).
  std::map<std::string, std::map<std::string, double>> cases;
};

// The network's batches go through a CapturedForward (worker/cuda_graphs.h): on CUDA, unless
// `cuda_graph` is false, full batches replay a CUDA graph.

// inputs: network inputs (N, C, H, W) on the model's device; masks uint8 (N, H, W). Besides the
// confusion metrics, "loss" is the training loss (BCE + Dice with `loss_weights`) averaged over
// the test samples, whatever the batch size and rank count.
EvalResult evaluate_binary(VMUNet& model, const torch::Tensor& inputs, const torch::Tensor& masks,
                           double threshold, int64_t batch_size, Communicator& comm,
                           const LossWeights& loss_weights = {}, bool cuda_graph = true);

struct SlicePrediction {
  torch::Tensor classes;        // uint8 (D, H, W) on the CPU
  torch::Tensor probabilities;  // float (D, K, H, W) on the CPU, when asked for; else undefined
};

// Multiclass prediction of slices (D, H, W) in [0, 1] (any device), batch by batch through
// `forward` (model's, kept across calls so that one graph serves every volume): each slice resized
// to size×size (bicubic), argmax, resized back (nearest); the softmax, when asked for, is resized
// back bilinearly.
SlicePrediction predict_slices(VMUNet& model, CapturedForward& forward, const torch::Tensor& slices,
                               int64_t size, int64_t batch_size, bool probabilities = false);

// Each volume's slices resized to `size` (bicubic), argmax, resized back (nearest), then scored.
EvalResult evaluate_volumes(VMUNet& model, const std::vector<VolumeTensors>& volumes,
                            const DatasetMeta& meta, int64_t size, int64_t batch_size,
                            Communicator& comm, bool cuda_graph = true);

}  // namespace vmunet
