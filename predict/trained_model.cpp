#include "predict/trained_model.h"

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "worker/run_config.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

std::string checkpoint_file(const std::string& path) {
  if (fs::is_regular_file(path)) return path;
  if (!fs::is_directory(path))
    throw Error(path +
                ": no such checkpoint file or run folder (give runs/<run key>/ or a "
                "ckpt-NNNNN.pt file inside it)");
  for (const fs::path& dir : {fs::path(path) / "checkpoints", fs::path(path)}) {
    const std::string newest = newest_valid_checkpoint(dir.string());
    if (!newest.empty()) return newest;
  }
  throw Error(path + ": holds no intact checkpoint (ckpt-NNNNN.pt with its .sha256 marker)");
}

// Older checkpoints: the run folder (…/<run key>/checkpoints/ckpt-N.pt) keeps the resolved config,
// and the dataset it names keeps the classes, resolution and normalisation.
InferenceMeta meta_from_run_folder(const std::string& checkpoint) {
  const fs::path run_dir = fs::absolute(checkpoint).parent_path().parent_path();
  const fs::path config_path = run_dir / "config.json";
  const std::string missing = checkpoint +
                              ": the checkpoint carries no inference metadata (written by an "
                              "older vmunet) and ";
  std::ifstream in(config_path);
  if (!in)
    throw Error(missing + config_path.string() +
                " is missing; retrain the run or give "
                "a checkpoint inside its run folder");
  const RunConfig cfg = parse_run_config(nlohmann::json::parse(in));
  // Runs store the data path as given, relative to where training ran (the runs folder's parent).
  fs::path data = cfg.data_path;
  if (data.is_relative() && !fs::exists(data)) data = run_dir.parent_path().parent_path() / data;
  if (!fs::exists(data))
    throw Error(missing + "its dataset " + cfg.data_path + " (named in " + config_path.string() +
                ") is not found; run predict from the folder the run was trained in");
  return inference_meta(cfg.model, read_dataset_meta(data.string()), cfg.threshold);
}

}  // namespace

TrainedModel load_trained_model(const std::string& path, const torch::Device& device) {
  TrainedModel t;
  t.checkpoint = checkpoint_file(path);
  // The metadata fixes the architecture, so it is read before the weights.
  const nlohmann::json state = read_checkpoint_state(t.checkpoint);
  t.meta = state.contains("inference") ? inference_meta_from_json(state["inference"], t.checkpoint)
                                       : meta_from_run_folder(t.checkpoint);
  t.model = VMUNet(t.meta.model);
  load_checkpoint_weights(t.checkpoint, *t.model);
  t.model->to(device);
  t.model->eval();
  return t;
}

}  // namespace vmunet
