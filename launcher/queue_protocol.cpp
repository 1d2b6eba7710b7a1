#include "launcher/queue_protocol.h"

#include "common/error.h"

namespace vmunet {

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::request_run:
      return "request_run";
    case MessageType::assign_run:
      return "assign_run";
    case MessageType::no_more_work:
      return "no_more_work";
    case MessageType::recorder_events:
      return "recorder_events";
    case MessageType::heartbeat:
      return "heartbeat";
    case MessageType::run_finished:
      return "run_finished";
    case MessageType::finished_ack:
      return "finished_ack";
  }
  return "unknown";
}

std::vector<uint8_t> encode_message(const Message& message) {
  std::vector<uint8_t> bytes{static_cast<uint8_t>(message.type)};
  nlohmann::json::to_msgpack(message.body, bytes);
  return bytes;
}

Message decode_message(const uint8_t* data, size_t size, const std::string& from) {
  if (size < 1 || data[0] < static_cast<uint8_t>(MessageType::request_run) ||
      data[0] > static_cast<uint8_t>(MessageType::finished_ack))
    throw Error("sweep protocol: malformed message from " + from);
  Message m{static_cast<MessageType>(data[0])};
  try {
    m.body = nlohmann::json::from_msgpack(data + 1, data + size);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("sweep protocol: undecodable ") + message_type_name(m.type) + " from " +
                from + " (" + e.what() + ")");
  }
  return m;
}

nlohmann::json assignment_body(const std::string& run_key, const nlohmann::json& config,
                               const std::string& sweep, bool resume, int64_t attempt) {
  return {{"run_key", run_key},
          {"config", config},
          {"sweep", sweep},
          {"resume", resume},
          {"attempt", attempt}};
}

nlohmann::json recorder_event(const std::string& event, const std::string& run_key,
                              nlohmann::json fields) {
  fields["event"] = event;
  fields["run_key"] = run_key;
  return fields;
}

void apply_recorder_event(const nlohmann::json& e, RunRecorder& to) {
  const std::string event = e.at("event"), key = e.at("run_key");
  if (event == "started") {
    to.started({key, e.at("name"), e.at("sweep"), e.at("config_json"), e.at("host"),
                e.at("devices"), e.at("code_version"), e.at("environment_json")});
  } else if (event == "epoch") {
    to.epoch(key, {e.at("epoch"), e.at("loss"), e.at("lr"), e.at("seconds"), e.at("images_per_s")});
  } else if (event == "metric") {
    to.metric(key, e.at("split"), e.at("name"), e.at("value"));
  } else if (event == "case_metric") {
    to.case_metric(key, e.at("split"), e.at("case_name"), e.at("name"), e.at("value"));
  } else if (event == "evaluation") {
    to.evaluation(key, e.at("epoch"), e.at("split"), e.at("name"), e.at("value"));
  } else if (event == "artifact") {
    to.artifact(key, e.at("kind"), e.at("path"), e.at("sha256"));
  } else if (event == "artifact_removed") {
    to.artifact_removed(key, e.at("path"));
  } else if (event == "finished") {
    to.finished(key, e.at("status"), e.at("error"));
  } else {
    throw Error("sweep protocol: unknown recorder event '" + event + "' for run " + key);
  }
}

}  // namespace vmunet
