// One robustness case: the built `vmunet` run on a generated input under a time limit, and what
// must hold afterwards. A bad input must end in a clean error: a non-zero exit (no signal), stderr
// exactly one line starting "vmunet: error:", no output file left behind and no guarded file
// changed. A legitimate input must succeed and pass its own check.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace vmunet::robustness {

struct Outcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out, err;  // stdout, stderr
};

struct Case {
  std::string category, name;
  std::vector<std::string> args;  // after the binary's name
  bool legitimate = false;        // must succeed (exit 0) instead of failing cleanly
  // Extra checks; returns "" when satisfied, else what is wrong.
  std::function<std::string(const Outcome&)> check;
  std::vector<std::string> absent;   // must not exist afterwards (outputs of a failed command)
  std::vector<std::string> guarded;  // must be byte-identical afterwards
  std::function<void()> setup;       // runs just before the command (e.g. copies a run folder)
  int timeout_s = 60;
};

// "" when the case passed, else one line saying why not.
std::string run_case(const Case& c);

// Runs every case (two at a time: CI has two cores) and returns the failures, "<name>: <why>".
std::vector<std::string> run_cases(const std::vector<Case>& cases);

// Bytes of a file, and writing them ("" for a missing file).
std::string read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);

// Per-category tallies for the table printed at the end of the suite.
void tally(const std::string& category, size_t cases, size_t clean);
void print_table();

}  // namespace vmunet::robustness
