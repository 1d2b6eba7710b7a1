#include "storage/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/launch_env.h"

namespace vmunet {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string duration_text(double seconds) {
  const auto total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  else
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  return text;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      // mpirun hands its ranks a pseudo-terminal, so isatty holds there too; but their bars would
      // interleave, and a job's output is usually a log file (srun, sbatch).
      enabled_(isatty(fileno(stdout)) != 0 && !launched_under_mpi()),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t steps, const std::string& note) {
  done_ = std::min(done_ + steps, total_);
  note_ = note;
  const auto now = std::chrono::steady_clock::now();
  if (enabled_ && (now - last_draw_ >= kRedrawInterval || done_ == total_)) {
    last_draw_ = now;
    draw();
  }
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw();
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void ProgressBar::draw() {
  const double fraction = static_cast<double>(done_) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * kBarWidth);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
  std::printf("\r%s [%s%s] %lld/%lld %s<%s %s\033[K", label_.c_str(),
              std::string(static_cast<size_t>(filled), '#').c_str(),
              std::string(static_cast<size_t>(kBarWidth - filled), '.').c_str(),
              static_cast<long long>(done_), static_cast<long long>(total_),
              duration_text(elapsed).c_str(), duration_text(eta).c_str(), note_.c_str());
  std::fflush(stdout);
}

}  // namespace vmunet
