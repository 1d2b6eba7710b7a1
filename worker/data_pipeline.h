// From stored uint8 samples to what the network sees, and which samples each step and rank takes.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "storage/dataset.h"

namespace vmunet {

// images uint8 (N, H, W, C) -> float (N, C, H, W). Binary (ISIC protocol): (x − mean)/std with the
// split's constants, then min–max rescaled to [0, 255] per image (the network sees [0, 255]).
// Multiclass (Synapse): x / 255, the [0, 1] scale of the CT slices.
torch::Tensor network_input(const torch::Tensor& images, const Normalisation& norm, Task task);

// Masks as loss targets: float 0/1 (N, 1, H, W) for binary, int64 class ids (N, H, W) otherwise.
torch::Tensor network_target(const torch::Tensor& masks, Task task);

// The epoch's sample order: a permutation of [0, n) from (seed, epoch) alone, the same on every
// rank and after a resume.
torch::Tensor epoch_order(int64_t n, uint64_t seed, int64_t epoch);

// [begin, end) of this rank's share of `count` items, split as evenly as possible in rank order.
std::pair<int64_t, int64_t> rank_share(int64_t count, int rank, int size);

}  // namespace vmunet
