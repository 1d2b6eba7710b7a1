// NumPy .npz archives: a zip (stored or deflated members) of .npy arrays, read with libzip.
#pragma once

#include <map>
#include <string>

#include "storage/npy.h"

namespace vmunet {

// Every member "<key>.npy" as array <key>; throws Error naming the archive and the member.
std::map<std::string, NpyArray> read_npz(const std::string& path);

}  // namespace vmunet
