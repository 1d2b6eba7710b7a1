#include "launcher/mpi_util.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

namespace vmunet {

void PollBackoff::sleep() {
  std::this_thread::sleep_for(std::chrono::microseconds(micros_));
  micros_ = std::min(micros_ * 2, 2000);
}

void wait_polled(MPI_Request& request) {
  PollBackoff backoff;
  for (int done = 0;;) {
    VMUNET_MPI_CHECK(MPI_Test(&request, &done, MPI_STATUS_IGNORE));
    if (done) return;
    backoff.sleep();
  }
}

std::string receive_polled(MPI_Comm comm, int source, int tag, int* from) {
  PollBackoff backoff;
  MPI_Status status;
  for (int ready = 0; !ready;) {
    VMUNET_MPI_CHECK(MPI_Iprobe(source, tag, comm, &ready, &status));
    if (!ready) backoff.sleep();
  }
  int count = 0;
  VMUNET_MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &count));
  std::string bytes(static_cast<size_t>(count), '\0');
  VMUNET_MPI_CHECK(
      MPI_Recv(bytes.data(), count, MPI_BYTE, status.MPI_SOURCE, tag, comm, MPI_STATUS_IGNORE));
  if (from) *from = status.MPI_SOURCE;
  return bytes;
}

void broadcast_polled(std::string& bytes, int root, MPI_Comm comm) {
  int64_t size = static_cast<int64_t>(bytes.size());
  MPI_Request request;
  VMUNET_MPI_CHECK(MPI_Ibcast(&size, 1, MPI_INT64_T, root, comm, &request));
  wait_polled(request);
  bytes.resize(static_cast<size_t>(size));
  VMUNET_MPI_CHECK(
      MPI_Ibcast(bytes.data(), static_cast<int>(size), MPI_BYTE, root, comm, &request));
  wait_polled(request);
}

}  // namespace vmunet
