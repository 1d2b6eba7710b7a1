// Per-case 3D volumes in one HDF5 file, the exchange format of `vmunet predict` and `vmunet
// evaluate`: a root group per case, holding uint8 [D, H, W] datasets such as `pred` (predicted
// class ids) and `label` (reference class ids). Also reads the image of a TransUNet-style case
// file (dataset `image`, float [D, H, W] or [H, W]).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmunet {

template <typename T>
struct Volume3 {
  int64_t depth = 0, height = 0, width = 0;
  std::vector<T> values;  // [depth, height, width] row-major
};

// Writes (or replaces) <case>/<dataset> in `path`, creating the file when it does not exist.
void write_case_volume(const std::string& path, const std::string& case_name,
                       const std::string& dataset, const Volume3<uint8_t>& volume);

// The root groups (cases) of `path`, sorted.
std::vector<std::string> case_names(const std::string& path);
bool has_case_volume(const std::string& path, const std::string& case_name,
                     const std::string& dataset);
// Throws Error naming the file and object when missing, not 3D, or not an 8-bit integer type.
Volume3<uint8_t> read_case_volume(const std::string& path, const std::string& case_name,
                                  const std::string& dataset);

// A numeric dataset at the root (e.g. `image`) as float; 2D data reads as depth 1.
Volume3<float> read_float_volume(const std::string& path, const std::string& dataset);
// Whether the root of `path` holds `name` (a dataset, group or attribute).
bool h5_root_has(const std::string& path, const std::string& name);

}  // namespace vmunet
