#include "tests/robustness/workspace.h"

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "model/safetensors.h"
#include "model/vmunet.h"
#include "model/weights.h"
#include "storage/results_db.h"
#include "storage/synthetic.h"

namespace vmunet::robustness {
namespace fs = std::filesystem;
namespace {

nlohmann::json tiny_model() {
  return {{"dims", {8, 16, 32, 64}},
          {"depths", {1, 1, 1, 1}},
          {"depths_decoder", {1, 1, 1, 1}},
          {"drop_path_rate", 0.0}};
}

Workspace make_workspace() {
  Workspace w;
  w.dir = (fs::temp_directory_path() / ("vmunet_robustness_" + std::to_string(getpid()))).string();
  fs::remove_all(w.dir);
  fs::create_directories(w.dir);

  w.data = w.dir + "/data.h5";
  SyntheticOptions synthetic;
  synthetic.train = 4;
  synthetic.test = 2;
  synthetic.size = 32;
  prepare_synthetic(synthetic, w.data, 4);

  w.user = {{"name", "robust"},
            {"seed", 1},
            {"model", tiny_model()},
            {"data", {{"path", w.data}}},
            {"train",
             {{"epochs", 1},
              {"batch_size", 2},
              {"eval_every", 0},
              {"max_steps_per_epoch", 1},
              {"device", "cpu"}}},
            {"augment", {{"policy", "none"}}}};
  w.config = w.dir + "/tiny.json";
  std::ofstream(w.config) << w.user.dump(2);

  w.db = w.dir + "/results.db";
  ResultsDb{w.db};

  w.model = w.dir + "/model.json";
  std::ofstream(w.model) << tiny_model().dump();
  torch::manual_seed(0);
  VMUNet net(model_config_from_json(tiny_model()));
  w.weights = w.dir + "/weights.safetensors";
  save_weights(*net, w.weights);
  w.input = w.dir + "/input.safetensors";
  write_safetensors(w.input, {{"input", torch::rand({1, 3, 32, 32})}});

  w.images = w.dir + "/isic/images";
  w.masks = w.dir + "/isic/masks";
  fs::create_directories(w.images);
  fs::create_directories(w.masks);
  cv::RNG rng(7);
  for (int i = 0; i < 6; ++i) {
    cv::Mat image(40, 40, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    cv::Mat mask(40, 40, CV_8UC1, cv::Scalar(0));
    cv::circle(mask, {20, 20}, 8 + 2 * i, cv::Scalar(255), cv::FILLED);
    const std::string stem = "ISIC_000000" + std::to_string(i);
    cv::imwrite(w.images + "/" + stem + ".jpg", image);
    cv::imwrite(w.masks + "/" + stem + "_segmentation.png", mask);
  }
  return w;
}

}  // namespace

const Workspace& workspace() {
  static const Workspace w = make_workspace();
  return w;
}

std::string case_dir(const std::string& category, const std::string& name) {
  std::string safe = name;
  for (char& c : safe)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  const std::string dir = workspace().dir + "/" + category + "/" + safe;
  fs::create_directories(dir);
  return dir;
}

}  // namespace vmunet::robustness
