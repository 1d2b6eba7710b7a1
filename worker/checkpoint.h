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

#include "model/model_config.h"
#include "storage/dataset.h"

namespace vmunet {

// What a checkpoint carries so that it can segment new images without its run folder or dataset
// file: the trainer stores it in the checkpoint's state under "inference".
struct InferenceMeta {
  ModelConfig model;
  Task task = Task::binary;
  std::vector<std::string> class_names;  // index = mask value
  int64_t input_size = 0;                // the side of the square images it was trained on
  // The dataset's test-split constants: new images are scaled as the trainer's evaluation scales
  // the test split (DESIGN §3; binary task only).
  Normalisation norm;
  double threshold = 0.5;  // binary: a pixel is foreground where the probability is at least this
  std::string dataset;     // the dataset's name, for messages
};

InferenceMeta inference_meta(const ModelConfig& model, const DatasetMeta& data, double threshold);
nlohmann::json inference_meta_to_json(const InferenceMeta& meta);
// Throws Error naming `where` and the missing or malformed key.
InferenceMeta inference_meta_from_json(const nlohmann::json& j, const std::string& where);

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

// The newest checkpoint in dir whose checksum matches; empty when none is usable.
std::string newest_valid_checkpoint(const std::string& dir);

// One checkpoint file for inference. Both check the checksum when the file has a marker (a
// mismatch throws) and throw Error naming the file when it is not a checkpoint (of this model).
nlohmann::json read_checkpoint_state(const std::string& path);  // the trainer state
void load_checkpoint_weights(const std::string& path, torch::nn::Module& model);

// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the directory.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace vmunet
