#include "launcher/stop_signal.h"

#include <csignal>

namespace vmunet {
namespace {

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set in a signal handler");

extern "C" void on_stop_signal(int signal) {
  g_signal = signal;
  g_stop.store(true);
}

void install(int signal, int flags) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | flags;
  sigaction(signal, &action, nullptr);
}

}  // namespace

const std::atomic<bool>& install_stop_handlers() {
  static const bool installed = [] {
    install(SIGTERM, 0);
    install(SIGUSR1, 0);
    install(SIGINT, SA_RESETHAND);
    return true;
  }();
  (void)installed;
  return g_stop;
}

int stop_signal() { return g_signal; }

}  // namespace vmunet
