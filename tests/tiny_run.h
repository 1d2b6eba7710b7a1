// A run config small enough to train a few steps in seconds on a CPU, for the training tests.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

#include "worker/run_config.h"
#include "worker/trainer.h"

namespace vmunet::test {

// "cpu", unless VMUNET_TEST_DEVICE says otherwise (the GPU machine runs these tests on "cuda").
inline std::string test_device() {
  const char* d = std::getenv("VMUNET_TEST_DEVICE");
  return d ? d : "cpu";
}

// Synthetic data written to `data_path` on first use; no drop path, so ranks draw no randomness
// of their own and a data-parallel run can equal a one-rank run.
inline nlohmann::json tiny_run_config(const std::string& data_path, const std::string& task,
                                      int64_t epochs) {
  const bool binary = task == "binary";
  nlohmann::json user = {
      {"name", "tiny-" + task},
      {"seed", 5},
      {"model",
       {{"dims", {8, 16, 32, 64}},
        {"depths", {1, 1, 1, 1}},
        {"depths_decoder", {1, 1, 1, 1}},
        {"num_classes", binary ? 1 : 9},
        {"in_channels", binary ? 3 : 1},
        {"drop_path_rate", 0.0}}},
      {"data",
       {{"path", data_path},
        {"synthetic",
         {{"if_missing", true},
          {"task", task},
          {"train", 24},
          {"test", 16},
          {"size", 64},
          {"seed", 3}}}}},
      {"train",
       {{"epochs", epochs},
        {"batch_size", 6},
        {"eval_every", 0},
        {"max_steps_per_epoch", 2},
        {"device", test_device()}}},
      {"augment", {{"policy", binary ? "isic" : "synapse"}}},
  };
  return resolve_run_config(user);
}

// A request to train `config` in runs_dir, on one process unless a communicator is set.
inline TrainRequest train_request(const nlohmann::json& config, const std::string& runs_dir,
                                  bool resume = false) {
  TrainRequest r;
  r.config = config;
  r.runs_dir = runs_dir;
  r.resume = resume;
  return r;
}

}  // namespace vmunet::test
