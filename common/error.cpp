#include "common/error.h"

namespace vmunet {

void fail_at(const char* file, int line, const std::string& what) {
  std::string f(file);
  auto slash = f.find_last_of('/');
  if (slash != std::string::npos) f = f.substr(slash + 1);
  throw Error(what + " (" + f + ":" + std::to_string(line) + ")");
}

}  // namespace vmunet
