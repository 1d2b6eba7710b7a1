// `vmunet sweep`'s exit codes (also in its --help).
#pragma once

namespace vmunet {

enum SweepExit : int {
  kSweepAllDone = 0,      // every run of the sweep is done
  kSweepError = 1,        // bad spec, missing inputs, a rank that could not go on
  kSweepFailures = 2,     // every run ended, some failed, oom or diverged
  kSweepInterrupted = 3,  // stopped by SIGTERM/SIGUSR1/SIGINT: relaunch to resume
};

}  // namespace vmunet
