// Runs the built `vmunet` binary (VMUNET_BINARY) the way a user would, for end-to-end tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace vmunet::test {

struct BinaryRun {
  int status = -1;     // exit status
  std::string output;  // stdout and stderr together
};

// The shell command `command`, from the folder `cwd` when one is given.
inline BinaryRun run_shell(const std::string& command, const std::string& cwd = "") {
  std::string cmd = "(" + command + ") 2>&1";
  if (!cwd.empty()) cmd = "cd '" + cwd + "' && " + cmd;
  BinaryRun r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.output.append(buf.data(), n);
  r.status = WEXITSTATUS(pclose(pipe));
  return r;
}

// `vmunet ARGS`, from the folder `cwd` when one is given.
inline BinaryRun run_vmunet(const std::string& args, const std::string& cwd = "") {
  return run_shell(std::string("'") + VMUNET_BINARY + "' " + args, cwd);
}

// `mpirun --oversubscribe -np N COMMAND`, one thread per rank, allowed as root.
inline std::string mpirun(int ranks, const std::string& command) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 mpirun "
         "--oversubscribe -np " +
         std::to_string(ranks) + " " + command;
}

}  // namespace vmunet::test
