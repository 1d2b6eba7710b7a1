// A one-line progress bar for long loops (prepare, training epochs). It draws only when stdout is
// a terminal and the process is not one rank of a launched job, so logs and pipes get no
// carriage-return noise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vmunet {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();  // calls finish()
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Moves `steps` forward; `note` (e.g. "loss 0.231") is shown after the counts.
  void advance(int64_t steps = 1, const std::string& note = "");
  // Draws the final state and ends the line; later calls do nothing.
  void finish();

 private:
  void draw();

  std::string label_, note_;
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace vmunet
