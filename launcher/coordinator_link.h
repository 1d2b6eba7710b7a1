// How a rank talks to the coordinator: over MPI (the control communicator, to world rank 0), or,
// without mpirun, to a Coordinator in the same process. The messages are those of
// launcher/queue_protocol.h either way.
#pragma once

#include <mpi.h>

#include <memory>

#include "launcher/coordinator.h"
#include "launcher/queue_protocol.h"

namespace vmunet {

class CoordinatorLink {
 public:
  virtual ~CoordinatorLink() = default;
  // Thread-safe: a leader's heartbeat thread sends while its run records events.
  virtual void send(const Message& message) = 0;
  // The coordinator's next reply to this rank; waits (polling) for it.
  virtual Message receive() = 0;
};

// An in-process coordinator: send() handles the message at once (under a lock) and queues the
// replies; batched writes are flushed on time by the calls that follow.
std::unique_ptr<CoordinatorLink> make_local_link(Coordinator& coordinator);

// The coordinator at world rank `coordinator_rank` of `control`.
std::unique_ptr<CoordinatorLink> make_mpi_link(MPI_Comm control, int coordinator_rank);

// The coordinator's MPI service loop: receives and answers until every group has left and every
// run handed out has ended, then flushes. Runs in a thread of rank 0 (or on a rank of its own).
void serve_coordinator(Coordinator& coordinator, MPI_Comm control);

}  // namespace vmunet
