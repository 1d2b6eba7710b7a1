// A run's expected cost, which orders the sweep queue longest first: the model's training FLOPs
// per image (3 × the forward pass: forward plus a backward of about twice its work) × training
// images per epoch × epochs. Torch-free: the forward FLOPs come from model/flops.h's analytic
// count at the dataset's resolution.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace vmunet {

struct DatasetShape {
  int64_t resolution = 0, train_images = 0;
};

// The shape of a prepared dataset file, or nothing if it cannot be read (e.g. missing).
using DatasetProbe = std::function<std::optional<DatasetShape>(const std::string& path)>;

// Expected training FLOPs of a resolved run config; 0 when the dataset's shape is unknown (file
// missing and not synthetic). The shape comes from `probe`, else from data.synthetic when the
// file is made on first use.
double expected_cost(const nlohmann::json& resolved, const DatasetProbe& probe);

}  // namespace vmunet
