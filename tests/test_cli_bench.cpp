// `vmunet bench` through the binary on the CPU: each line's figures agree with one another
// (images/s is the batch over the median step, the time the host takes to queue a step lies
// within the step, and on the CPU, where the host does the work, makes up nearly all of it), and
// --cuda-graph on, CUDA's alone, is refused in one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/run_binary.h"

namespace vmunet {
namespace {

TEST(CliBench, EachLineAgreesWithItself) {
  const int batch = 2;
  const auto r = test::run_vmunet("bench --device cpu --model " + std::string(VMUNET_FIXTURES) +
                                  "/vmunet-small.model.json --batch " + std::to_string(batch) +
                                  " --size 64 --steps 5 --warmup 1");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::regex line(
      R"(^(train|inference) +cpu batch 2 64x64 fp32: median ([0-9.]+) ms \(min ([0-9.]+), )"
      R"(queued in ([0-9.]+)\), ([0-9.]+) images/s, peak 0\.00 GiB, median of 5 after 1 warm-up$)");
  std::set<std::string> modes;
  std::istringstream lines(r.output);
  for (std::string text; std::getline(lines, text);) {
    std::smatch m;
    if (!std::regex_match(text, m, line)) continue;
    modes.insert(m[1]);
    const double median = std::stod(m[2]), min = std::stod(m[3]), queued = std::stod(m[4]);
    const double images_per_s = std::stod(m[5]);
    EXPECT_GT(min, 0.0) << text;
    EXPECT_LE(min, median) << text;
    EXPECT_LE(queued, median) << text;
    EXPECT_GE(queued, 0.9 * median) << text;
    // Both printed to 0.1: the median's rounding moves images/s by at most 0.05 / median.
    EXPECT_NEAR(images_per_s, batch * 1000.0 / median,
                0.1 + batch * 1000.0 / median * (0.05 / median))
        << text;
  }
  EXPECT_EQ(modes, (std::set<std::string>{"train", "inference"})) << r.output;
}

// A CUDA graph needs a CUDA device: on the CPU one error line and a failed exit.
TEST(CliBench, GraphOnTheCpuIsOneErrorLine) {
  const auto r = test::run_vmunet(
      "bench --device cpu --cuda-graph on --train-only --batch 1 --size 32 --steps 1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("vmunet: error: --cuda-graph on: "), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

}  // namespace
}  // namespace vmunet
