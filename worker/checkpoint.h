// Training checkpoints: model, optimizer state and progress, written completely and then marked
// done. A checkpoint counts only when its `.sha256` marker exists and matches the file, so a
// process killed mid-write, or a damaged file, never poisons a resume: the previous one is used.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace vmunet {

struct CheckpointInfo {
  std::string path;
  int64_t epoch = 0;     // epochs completed when it was written
  nlohmann::json state;  // trainer progress (best metric, schedule, ...)
};

// Writes dir/ckpt-<epoch>.pt through a temp file, fsync and rename, then its checksum marker;
// keeps the newest `keep` checkpoints and removes older ones, listing them in `removed` when
// given (so that their artifact records go too). Returns {path, sha256}.
std::pair<std::string, std::string> save_checkpoint(const std::string& dir, int64_t epoch,
                                                    torch::nn::Module& model,
                                                    torch::optim::Optimizer& optimizer,
                                                    const nlohmann::json& state, int keep = 2,
                                                    std::vector<std::string>* removed = nullptr);

// Loads the newest checkpoint in dir whose checksum matches and that loads, into model and
// optimizer. Damaged or unmarked ones are skipped with a warning naming the file. nullopt when
// there is none (or only unmarked ones: interrupted first writes); throws Error when every
// checkpoint with a marker is damaged, rather than let the run start over.

std::optional<CheckpointInfo> load_latest_checkpoint(const std::string& dir,
                                                     torch::nn::Module& model,
                                                     torch::optim::Optimizer& optimizer);

// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the directory.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace vmunet
