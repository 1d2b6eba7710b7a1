#include "storage/prepare_common.h"

#include <spdlog/spdlog.h>

#include "common/error.h"

namespace vmunet {

void check_sizes(const std::vector<int>& sizes, const std::string& out,
                 const std::string& command) {
  if (sizes.empty()) throw Error(command + ": give at least one --size");
  for (int size : sizes)
    if (size < 32 || size > 4096 || size % 32 != 0)
      throw Error(command + ": --size " + std::to_string(size) +
                  " must be a multiple of 32 in 32..4096 (the network downsamples 32x)");
  if (out.empty()) throw Error(command + ": --out is required");
  if (sizes.size() > 1 && out.find("{size}") == std::string::npos)
    throw Error(command + ": several --size values need \"{size}\" in --out (e.g. isic_{size}.h5)");
}

std::string output_path(const std::string& out, int size) {
  std::string path = out;
  for (size_t at = path.find("{size}"); at != std::string::npos; at = path.find("{size}", at))
    path.replace(at, 6, std::to_string(size));
  return path;
}

void report_problem(const std::string& problem, bool strict, PrepareSummary& summary) {
  if (strict) throw Error(problem + "; fix it or drop --strict to skip it");
  spdlog::warn("skipping: {}", problem);
  summary.skipped.push_back(problem);
}

void commit_writers(const std::vector<std::unique_ptr<DatasetWriter>>& writers,
                    const std::string& out, const std::vector<int>& sizes,
                    PrepareSummary& summary) {
  summary.train = writers.front()->count("train");
  summary.test = writers.front()->count("test");
  for (size_t s = 0; s < writers.size(); ++s) {
    writers[s]->commit();
    summary.files.push_back(output_path(out, sizes[s]));
  }
}

}  // namespace vmunet
