#include "sweep/sweep_json.h"

#include <fstream>

#include "common/error.h"

namespace vmunet {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open " + what);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

}  // namespace vmunet
