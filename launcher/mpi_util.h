// MPI helpers for the launcher: checked calls, and waits that sleep between polls. A blocking MPI
// wait spins a core; the launcher's ranks wait for the coordinator on machines where every core
// trains (or, in the benchmark, with 32 ranks on 2 cores), so they poll with a growing sleep.
#pragma once

#include <mpi.h>

#include <string>

#include "common/mpi_check.h"

namespace vmunet {

// Sleeps 20 µs after the first empty poll, doubling up to 2 ms; reset() after any progress.
class PollBackoff {
 public:
  void sleep();
  void reset() { micros_ = 20; }

 private:
  int micros_ = 20;
};

// Completes `request`, sleeping between tests.
void wait_polled(MPI_Request& request);

// Receives the next message with `tag` from `source` (or MPI_ANY_SOURCE) on `comm`, sleeping
// between probes; `from` is set to the sender.
std::string receive_polled(MPI_Comm comm, int source, int tag, int* from = nullptr);

// Rank `root`'s bytes on every rank of `comm` (length first, then the bytes), polled.
void broadcast_polled(std::string& bytes, int root, MPI_Comm comm);

}  // namespace vmunet
