#include "tests/robustness/case_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

namespace vmunet::robustness {
namespace fs = std::filesystem;
namespace {

std::string slurp(int fd) {
  std::string text;
  char buffer[65536];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;)
    text.append(buffer, static_cast<size_t>(n));
  return text;
}

// Runs the binary with stdout and stderr in temporary files (pipes could fill and block it).
Outcome execute(const std::vector<std::string>& args, int timeout_s) {
  Outcome o;
  FILE* out = std::tmpfile();
  FILE* err = std::tmpfile();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fileno(out), 1);
    dup2(fileno(err), 2);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> argv{const_cast<char*>(VMUNET_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    setenv("OMP_NUM_THREADS", "1", 1);
    execv(VMUNET_BINARY, argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      o.timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) o.signal = WTERMSIG(status);
  o.out = slurp(fileno(out));
  o.err = slurp(fileno(err));
  std::fclose(out);
  std::fclose(err);
  return o;
}

std::string first_line(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

std::mutex table_mutex;
std::map<std::string, std::pair<size_t, size_t>>& table() {
  static std::map<std::string, std::pair<size_t, size_t>> rows;
  return rows;
}

}  // namespace

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string run_case(const Case& c) {
  if (c.setup) c.setup();
  std::vector<std::string> before;
  for (const auto& g : c.guarded) before.push_back(read_bytes(g));
  const Outcome o = execute(c.args, c.timeout_s);
  if (o.timed_out) return "timed out after " + std::to_string(c.timeout_s) + " s";
  if (o.signal) return "killed by signal " + std::to_string(o.signal);
  if (o.exit_code == 127 && o.err.empty()) return std::string("could not run ") + VMUNET_BINARY;
  for (size_t i = 0; i < c.guarded.size(); ++i)
    if (read_bytes(c.guarded[i]) != before[i]) return c.guarded[i] + " changed";
  if (c.legitimate) {
    if (o.exit_code != 0)
      return "legitimate input failed (exit " + std::to_string(o.exit_code) +
             "): " + first_line(o.err);
  } else {
    if (o.exit_code == 0) return "bad input accepted (exit 0)";
    const size_t lines = static_cast<size_t>(std::count(o.err.begin(), o.err.end(), '\n'));
    if (o.err.rfind("vmunet: error: ", 0) != 0 || lines != 1 || o.err.back() != '\n')
      return "stderr is not one 'vmunet: error:' line (" + std::to_string(lines) +
             " lines): " + first_line(o.err);
    if (o.err.size() > 1000) return "error line is " + std::to_string(o.err.size()) + " bytes";
    for (const auto& path : c.absent)
      if (fs::exists(path)) return path + " was left behind";
  }
  if (c.check) return c.check(o);
  return "";
}

std::vector<std::string> run_cases(const std::vector<Case>& cases) {
  std::vector<std::string> results(cases.size());
  std::atomic<size_t> next{0};
  const auto worker = [&] {
    for (size_t i; (i = next++) < cases.size();) results[i] = run_case(cases[i]);
  };
  std::thread other(worker);
  worker();
  other.join();
  std::vector<std::string> failures;
  std::map<std::string, std::pair<size_t, size_t>> counts;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto& [total, clean] = counts[cases[i].category];
    ++total;
    if (results[i].empty())
      ++clean;
    else
      failures.push_back(cases[i].category + "/" + cases[i].name + ": " + results[i]);
  }
  for (const auto& [category, c] : counts) tally(category, c.first, c.second);
  return failures;
}

void tally(const std::string& category, size_t cases, size_t clean) {
  std::lock_guard<std::mutex> lock(table_mutex);
  auto& row = table()[category];
  row.first += cases;
  row.second += clean;
}

void print_table() {
  std::lock_guard<std::mutex> lock(table_mutex);
  size_t cases = 0, clean = 0;
  std::printf("\n%-14s %7s %22s\n", "category", "cases", "clean errors / correct");
  for (const auto& [category, row] : table()) {
    std::printf("%-14s %7zu %22zu\n", category.c_str(), row.first, row.second);
    cases += row.first;
    clean += row.second;
  }
  std::printf("%-14s %7zu %22zu\n\n", "total", cases, clean);
}

}  // namespace vmunet::robustness
