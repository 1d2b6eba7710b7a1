// Which device a rank trains on, how its matrix units may round, and what to call it in records.
#pragma once

#include <torch/types.h>

#include <string>

#include "worker/run_config.h"

namespace vmunet {

// "cpu", "cuda" or "auto" (CUDA when visible). Ranks on one node take GPUs by local rank.
torch::Device pick_device(const std::string& requested, int rank);

// fp32: strict fp32 matrix products (the paper's setting); tf32: TF32 tensor cores allowed;
// bf16: strict fp32 outside the bf16 autocast regions (worker/autocast.h), CUDA only.
void set_precision(Precision precision, const torch::Device& device);

// "cpu" or the CUDA device's product name, e.g. "NVIDIA H200".
std::string device_name(const torch::Device& device);

}  // namespace vmunet
