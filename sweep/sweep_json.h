// Reading the JSON files a sweep refers to (the spec, its base run configs).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace vmunet {

// The parsed file; Error("<path>: cannot open <what>" / "not valid JSON (...)") otherwise.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

}  // namespace vmunet
