// What a run records about where it ran (RunRecord::code_version and environment_json).
#pragma once

#include <string>

namespace vmunet {

// "vmunet <version> (<git describe>)"
std::string code_version();

// This machine's host name (RunRecord::host).
std::string host_name();

// JSON object: libtorch version, device (as given, e.g. "NVIDIA H200" or "cpu"), host name,
// compiler, HDF5 and SQLite library versions.
std::string environment_json(const std::string& device);

}  // namespace vmunet
