// A run executor that trains nothing: it records what a run would (started, one epoch row per
// epoch, a test metric, finished) and sleeps, failing the runs it is told to. It drives the
// launcher as hard as a big cluster would without GPUs (the coordinator benchmark and tests).
#pragma once

#include <set>
#include <string>

#include "launcher/run_executor.h"

namespace vmunet {

struct StandInOptions {
  double sleep_ms = 0;              // per run, spread over its epochs
  double fail_fraction = 0;         // fail this share of runs, chosen by run key
  std::set<std::string> fail_keys;  // and these runs
};

// Whether the stand-in fails this run: in fail_keys, or its key's hash below fail_fraction.
bool stand_in_fails(const StandInOptions& options, const std::string& run_key);

ExecutorFactory stand_in_executor_factory(const StandInOptions& options);

}  // namespace vmunet
