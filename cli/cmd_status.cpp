// `vmunet status`: a sweep's progress from the results database, read-only (never blocks the
// sweep writing it).
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "launcher/sweep_status.h"

namespace vmunet::cli {
namespace {

struct StatusArgs {
  StatusOptions options;
  double watch = 0;
};

size_t terminal_width() {
  winsize w{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
    return w.ws_col;
  return 0;  // not a terminal: full lines
}

void run_status(StatusArgs a) {
  while (true) {
    a.options.width = terminal_width();
    std::ostringstream text;
    print_status(text, a.options);
    if (a.watch > 0 && isatty(STDOUT_FILENO)) std::cout << "\033[H\033[2J";
    std::cout << text.str() << std::flush;
    if (a.watch <= 0) return;
    std::this_thread::sleep_for(std::chrono::duration<double>(a.watch));
  }
}

void add_status(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "status",
      "Show a sweep's runs from the results database: counts by state, then per run "
      "its values, state (STALLED when its group is silent), epoch, elapsed, ETA, host, "
      "error");
  auto a = std::make_shared<StatusArgs>();
  sub->add_option("--db", a->options.db_path, "results database")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--sweep", a->options.sweep, "only this sweep (default: every sweep)");
  sub->add_option("--watch", a->watch, "refresh every SECONDS until interrupted");
  sub->callback([a] { run_status(*a); });
}

const bool registered = register_command(add_status);

}  // namespace
}  // namespace vmunet::cli
