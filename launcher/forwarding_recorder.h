// The RunRecorder of a group's leader under the sweep launcher: events go to the coordinator, the
// database's only writer (queue_protocol.h). Batched, they wait for the leader's next message
// (heartbeat or request_run); unbatched, each is sent at once as a recorder_events message.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "launcher/queue_protocol.h"
#include "worker/run_recorder.h"

namespace vmunet {

class ForwardingRecorder : public RunRecorder {
 public:
  ForwardingRecorder(std::function<void(const Message&)> send, bool batch)
      : send_(std::move(send)), batch_(batch) {}
  // Sends `message` with the events recorded since the last send attached as "events". Taking
  // and sending happen under one lock, so events leave in the order they were recorded whichever
  // thread sends (the heartbeat thread or the run's).
  void send_with_events(Message message);

  void started(const RunStart& start) override;
  void epoch(const std::string& run_key, const EpochRecord& record) override;
  void metric(const std::string& run_key, const std::string& split, const std::string& name,
              double value) override;
  void case_metric(const std::string& run_key, const std::string& split,
                   const std::string& case_name, const std::string& name, double value) override;
  void evaluation(const std::string& run_key, int64_t epoch, const std::string& split,
                  const std::string& name, double value) override;
  void artifact(const std::string& run_key, const std::string& kind, const std::string& path,
                const std::string& sha256) override;
  void artifact_removed(const std::string& run_key, const std::string& path) override;
  void finished(const std::string& run_key, const std::string& status,
                const std::string& error) override;

 private:
  void forward(nlohmann::json event);
  std::function<void(const Message&)> send_;
  bool batch_;
  std::mutex mutex_;
  nlohmann::json pending_ = nlohmann::json::array();
};

}  // namespace vmunet
