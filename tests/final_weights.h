// The weights a test run ended with, and the comparison of a data-parallel run's weights with a
// one-rank run's.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/vmunet.h"
#include "tests/tolerances.h"
#include "worker/checkpoint.h"
#include "worker/optimizer.h"
#include "worker/run_config.h"

namespace vmunet::test {

// The model weights of the newest checkpoint of `config`'s run under `runs`.
inline std::vector<torch::Tensor> final_weights(const nlohmann::json& config,
                                                const std::filesystem::path& runs) {
  VMUNet model(parse_run_config(config).model);
  auto opt = make_adamw(model->parameters(), {});
  const auto dir = (runs / run_key(config) / "checkpoints").string();
  EXPECT_TRUE(load_latest_checkpoint(dir, *model, *opt).has_value()) << dir;
  return model->parameters();
}

// Each tensor and the whole vector of `parallel` within DataParallelTolerance of `single`.
inline void expect_data_parallel_equal(const std::vector<torch::Tensor>& parallel,
                                       const std::vector<torch::Tensor>& single,
                                       const std::string& what) {
  ASSERT_EQ(parallel.size(), single.size()) << what;
  const DataParallelTolerance tol;
  std::vector<torch::Tensor> fa, fb;
  for (size_t i = 0; i < parallel.size(); ++i) {
    fa.push_back(parallel[i].reshape({-1}));
    fb.push_back(single[i].reshape({-1}));
    EXPECT_LT(rel_error(parallel[i], single[i]), tol.tensor) << what << " parameter " << i;
  }
  EXPECT_LT(rel_error(torch::cat(fa), torch::cat(fb)), tol.whole) << what;
}

}  // namespace vmunet::test
