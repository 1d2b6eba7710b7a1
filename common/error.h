// One exception type for every user-facing failure. Library code throws it; `main` catches it,
// prints its one line and exits non-zero (never exit() in library code: under MPI it strands
// ranks).
#pragma once

#include <stdexcept>
#include <string>

namespace vmunet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws Error("<what> (<file>:<line>)") when `cond` is false; for internal invariants.
[[noreturn]] void fail_at(const char* file, int line, const std::string& what);

}  // namespace vmunet

#define VMUNET_CHECK(cond, msg)                                \
  do {                                                         \
    if (!(cond)) ::vmunet::fail_at(__FILE__, __LINE__, (msg)); \
  } while (0)
