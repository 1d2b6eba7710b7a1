// What the `prepare` converters share: output naming, size checks and problem reporting.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "storage/dataset_h5.h"

namespace vmunet {

struct PrepareSummary {
  std::vector<std::string> files;    // written, one per size
  int64_t train = 0, test = 0;       // samples per file
  int64_t volumes = 0;               // test volumes per file
  std::vector<std::string> skipped;  // one line per skipped input
  std::vector<std::string> notes;    // how legitimate but unusual inputs were read
};

// Sizes must be positive multiples of 32 (the network downsamples 32x); several sizes need
// "{size}" in `out` so that each gets its own file.
void check_sizes(const std::vector<int>& sizes, const std::string& out, const std::string& command);
// `out` with every "{size}" replaced by `size`.
std::string output_path(const std::string& out, int size);

// A skipped input: under --strict an Error ("<problem>; fix it or drop --strict"), otherwise a
// warning, recorded in the summary.
void report_problem(const std::string& problem, bool strict, PrepareSummary& summary);

// Commits one writer per size (writers[s] for sizes[s]), recording the sample counts (the same in
// every file) and the files written in the summary.
void commit_writers(const std::vector<std::unique_ptr<DatasetWriter>>& writers,
                    const std::string& out, const std::vector<int>& sizes, PrepareSummary& summary);

}  // namespace vmunet
