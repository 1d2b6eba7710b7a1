// Which device a rank trains on, how its matrix units may round, and what to call it in records.
#pragma once

#include <torch/types.h>

#include <string>

#include "worker/config_enums.h"

namespace vmunet {

// This process's rank among those of its node: Open MPI's OMPI_COMM_WORLD_LOCAL_RANK, else
// Slurm's SLURM_LOCALID, else the MPI session's node split, else 0. Not collective.
int local_rank();

// The device a rank trains on, chosen once per process and passed down (TrainRequest::device):
// `want` "cpu"; "cuda" (an error without a visible GPU); "auto" (a GPU when one is visible). The
// ranks of a node share its visible GPUs (CUDA_VISIBLE_DEVICES honoured) by local rank.
torch::Device choose_device(const std::string& want, int local_rank);

// Sets the matrix units' rounding for `precision` (bf16: strict fp32 outside the autocast
// regions); bf16 needs a CUDA device.
void set_precision(Precision precision, const torch::Device& device);

// "cpu" or the CUDA device's product name, e.g. "NVIDIA H200".
std::string device_name(const torch::Device& device);

}  // namespace vmunet
