// The sweep's work-queue protocol: every message between the groups of ranks and the coordinator
// (DESIGN §5, §6). One rank's coordinator owns the queue and is the results database's only
// writer; the groups' leaders ask it for runs and send it their recorder events.
//
// Transport: a duplicate of MPI_COMM_WORLD (the "control" communicator), so nothing here ever
// matches a training collective. Workers send to world rank 0 with tag kTagToCoordinator; the
// coordinator answers with tag kTagToWorker. MPI keeps messages from one sender in order, so a
// run's events always arrive before its run_finished, and that before the next request_run.
// Without mpirun the same messages go to an in-process coordinator (launcher/coordinator_link.h).
//
// Wire format: one byte MessageType, then the body as MessagePack (nlohmann::json::to_msgpack).
//
//   type             direction               body
//   request_run      leader → coordinator    {"group": g, "stopping": bool, "events": [...],
//                                             "finished": {"run_key", "status", "error"}}
//                                            events and finished are optional: the end of the
//                                            group's last run rides on its next request, so a
//                                            short run costs one message each way. stopping:
//                                            the group leaves; the answer is no_more_work.
//   assign_run       coordinator → leader    {"run_key", "config" (resolved), "sweep", "resume",
//                                             "attempt"}; the leader passes it to its group
//   no_more_work     coordinator → leader    {}; the group's ranks leave the sweep
//   recorder_events  leader → coordinator    {"events": [...]}: RunRecorder calls, in order,
//                                            each {"event": "started"|"epoch"|"metric"|
//                                            "case_metric"|"evaluation"|"artifact"|
//                                            "artifact_removed"|"finished",
//                                            "run_key",
//                                            ...the call's arguments by name}
//   heartbeat        leader → coordinator    {"run_key", "events": [...]}: every second while a
//                                            run trains, carrying the events recorded since the
//                                            last message (so they reach the database within
//                                            about a second)
//   run_finished     any rank → coordinator  {"run_key", "status", "error"}: a multi-rank run
//                                            threw on this rank, its group cannot go on and the
//                                            job will end; the coordinator commits, then answers
//                                            finished_ack
//   finished_ack     coordinator → rank      {}
//
// Adding a recorder event: a RunRecorder method, its one-line forward in ForwardingRecorder
// (launcher/forwarding_recorder.cpp) and one case in apply_recorder_event below.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "worker/run_recorder.h"

namespace vmunet {

constexpr int kTagToCoordinator = 1;
constexpr int kTagToWorker = 2;

enum class MessageType : uint8_t {
  request_run = 1,
  assign_run,
  no_more_work,
  recorder_events,
  heartbeat,
  run_finished,
  finished_ack,
};

const char* message_type_name(MessageType type);

struct Message {
  MessageType type;
  nlohmann::json body = nlohmann::json::object();
};

std::vector<uint8_t> encode_message(const Message& message);
// Throws Error naming `from` for bytes that are not a message.
Message decode_message(const uint8_t* data, size_t size, const std::string& from);

// The body of assign_run (and of the leader's copy to its group's ranks).
nlohmann::json assignment_body(const std::string& run_key, const nlohmann::json& config,
                               const std::string& sweep, bool resume, int64_t attempt);

// A recorder event's body: {"event": name, "run_key": key, ...fields}.
nlohmann::json recorder_event(const std::string& event, const std::string& run_key,
                              nlohmann::json fields = nlohmann::json::object());

// Calls the RunRecorder method that `event` names (e.g. a DbRecorder that writes it).
void apply_recorder_event(const nlohmann::json& event, RunRecorder& recorder);

}  // namespace vmunet
