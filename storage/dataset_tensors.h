// A dataset file as LibTorch tensors for the trainer: read and checked by read_dataset(), then
// handed over without a copy on the CPU or moved once to the given device.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "storage/dataset.h"

namespace vmunet {

struct SplitTensors {
  torch::Tensor images;  // uint8 [N, H, W, C]
  torch::Tensor masks;   // uint8 [N, H, W], 0/1 or class ids
  std::vector<std::string> names;
};

struct VolumeTensors {
  std::string name;
  torch::Tensor image;  // float32 [D, H, W] in [0, 1]
  torch::Tensor label;  // uint8 [D, H, W]
};

struct DatasetTensors {
  DatasetMeta meta;
  SplitTensors train, test;  // test may hold 0 images when the test set is volumetric
  std::vector<VolumeTensors> volumes;
};

// Throws Error naming the file, the dataset and the problem (for masks: the offending index and
// value) when the file is not a valid dataset.
DatasetTensors load_dataset_tensors(const std::string& path,
                                    const torch::Device& device = torch::kCPU);

}  // namespace vmunet
