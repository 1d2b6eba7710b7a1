#include "storage/run_environment.h"

#include <H5public.h>
#include <sqlite3.h>
#include <torch/version.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/version.h"

namespace vmunet {

std::string code_version() {
  return std::string("vmunet ") + version() + " (" + git_describe() + ")";
}

std::string host_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

std::string environment_json(const std::string& device) {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return nlohmann::json{
      {"libtorch", TORCH_VERSION},
      {"device", device},
      {"host", host_name()},
      {"compiler", __VERSION__},
      {"hdf5", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release)},
      {"sqlite", sqlite3_libversion()}}
      .dump();
}

}  // namespace vmunet
