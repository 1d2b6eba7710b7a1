#include "launcher/forwarding_recorder.h"

#include <utility>

namespace vmunet {

void ForwardingRecorder::send_with_events(Message message) {
  std::lock_guard<std::mutex> lock(mutex_);
  message.body["events"] = std::exchange(pending_, nlohmann::json::array());
  send_(message);
}

void ForwardingRecorder::forward(nlohmann::json event) {
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.push_back(std::move(event));
  if (!batch_)
    send_({MessageType::recorder_events,
           {{"events", std::exchange(pending_, nlohmann::json::array())}}});
}

void ForwardingRecorder::started(const RunStart& s) {
  forward(recorder_event("started", s.run_key,
                         {{"name", s.name},
                          {"sweep", s.sweep},
                          {"config_json", s.config_json},
                          {"host", s.host},
                          {"devices", s.devices},
                          {"code_version", s.code_version},
                          {"environment_json", s.environment_json}}));
}

void ForwardingRecorder::epoch(const std::string& run_key, const EpochRecord& r) {
  forward(recorder_event("epoch", run_key,
                         {{"epoch", r.epoch},
                          {"loss", r.loss},
                          {"lr", r.lr},
                          {"seconds", r.seconds},
                          {"images_per_s", r.images_per_s}}));
}

void ForwardingRecorder::metric(const std::string& run_key, const std::string& split,
                                const std::string& name, double value) {
  forward(recorder_event("metric", run_key, {{"split", split}, {"name", name}, {"value", value}}));
}

void ForwardingRecorder::case_metric(const std::string& run_key, const std::string& split,
                                     const std::string& case_name, const std::string& name,
                                     double value) {
  forward(recorder_event(
      "case_metric", run_key,
      {{"split", split}, {"case_name", case_name}, {"name", name}, {"value", value}}));
}

void ForwardingRecorder::evaluation(const std::string& run_key, int64_t epoch,
                                    const std::string& split, const std::string& name,
                                    double value) {
  forward(recorder_event("evaluation", run_key,
                         {{"epoch", epoch}, {"split", split}, {"name", name}, {"value", value}}));
}

void ForwardingRecorder::artifact(const std::string& run_key, const std::string& kind,
                                  const std::string& path, const std::string& sha256) {
  forward(
      recorder_event("artifact", run_key, {{"kind", kind}, {"path", path}, {"sha256", sha256}}));
}

void ForwardingRecorder::artifact_removed(const std::string& run_key, const std::string& path) {
  forward(recorder_event("artifact_removed", run_key, {{"path", path}}));
}

void ForwardingRecorder::finished(const std::string& run_key, const std::string& status,
                                  const std::string& error) {
  forward(recorder_event("finished", run_key, {{"status", status}, {"error", error}}));
}

}  // namespace vmunet
