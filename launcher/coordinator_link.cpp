#include "launcher/coordinator_link.h"

#include <deque>
#include <mutex>

#include "launcher/mpi_util.h"

namespace vmunet {
namespace {

class LocalLink : public CoordinatorLink {
 public:
  explicit LocalLink(Coordinator& coordinator) : coordinator_(coordinator) {}

  void send(const Message& message) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& reply : coordinator_.handle(0, message)) replies_.push_back(std::move(reply.second));
    coordinator_.tick();
  }

  Message receive() override {
    std::lock_guard<std::mutex> lock(mutex_);
    VMUNET_CHECK(!replies_.empty(), "in-process coordinator: a reply was expected");
    Message m = std::move(replies_.front());
    replies_.pop_front();
    return m;
  }

 private:
  Coordinator& coordinator_;
  std::mutex mutex_;
  std::deque<Message> replies_;
};

void send_bytes(const Message& message, int to, int tag, MPI_Comm comm) {
  const auto bytes = encode_message(message);
  VMUNET_MPI_CHECK(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, tag, comm));
}

Message decode(const std::string& bytes, int from) {
  return decode_message(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                        "rank " + std::to_string(from));
}

class MpiLink : public CoordinatorLink {
 public:
  MpiLink(MPI_Comm control, int coordinator) : control_(control), coordinator_(coordinator) {}
  void send(const Message& message) override {
    send_bytes(message, coordinator_, kTagToCoordinator, control_);
  }
  Message receive() override {
    return decode(receive_polled(control_, coordinator_, kTagToWorker), coordinator_);
  }

 private:
  MPI_Comm control_;
  int coordinator_;
};

}  // namespace

std::unique_ptr<CoordinatorLink> make_local_link(Coordinator& coordinator) {
  return std::make_unique<LocalLink>(coordinator);
}

std::unique_ptr<CoordinatorLink> make_mpi_link(MPI_Comm control, int coordinator_rank) {
  return std::make_unique<MpiLink>(control, coordinator_rank);
}

void serve_coordinator(Coordinator& coordinator, MPI_Comm control) {
  PollBackoff backoff;
  MPI_Status status;
  // Replies go out non-blocking, each buffer kept until its send completes: a blocking MPI_Send
  // of even a 1 KB reply waited for the receiving rank's next poll, and at 32 ranks on 2 cores the
  // coordinator spent 9.8 of 11 s in it (docs/performance.md, "Sweep coordinator").
  std::deque<std::pair<std::vector<uint8_t>, MPI_Request>> sending;
  auto retire = [&sending] {
    for (int done = 1; done && !sending.empty();) {
      VMUNET_MPI_CHECK(MPI_Test(&sending.front().second, &done, MPI_STATUS_IGNORE));
      if (done) sending.pop_front();
    }
  };
  while (!coordinator.finished()) {
    int ready = 0;
    VMUNET_MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, kTagToCoordinator, control, &ready, &status));
    if (ready) {
      int from = 0;
      const auto bytes = receive_polled(control, status.MPI_SOURCE, kTagToCoordinator, &from);
      for (const auto& [to, reply] : coordinator.handle(from, decode(bytes, from))) {
        auto& [buffer, request] = sending.emplace_back(encode_message(reply), MPI_REQUEST_NULL);
        VMUNET_MPI_CHECK(MPI_Isend(buffer.data(), static_cast<int>(buffer.size()), MPI_BYTE, to,
                                   kTagToWorker, control, &request));
      }
      backoff.reset();
    } else {
      backoff.sleep();
    }
    retire();
    coordinator.tick();
  }
  for (auto& [buffer, request] : sending) wait_polled(request);
  coordinator.flush();
}

}  // namespace vmunet
