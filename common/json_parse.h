// JSON from users (run configs, model files, --set values, safetensors headers) parsed with limits
// that keep malformed input from crashing or flooding: a nesting limit (nlohmann::json copies and
// dumps recursively, so a value nested 100,000 deep overflows the stack), duplicate keys refused
// with their dotted path instead of silently keeping the last, and errors that say where.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace vmunet {

constexpr int kMaxJsonDepth = 64;

// Parses `text`; any problem throws vmunet::Error("<where>: <problem> [at <dotted.path>]").
nlohmann::json parse_json(const std::string& text, const std::string& where);

// `value` rendered on one line in at most about `limit` characters ("[1,2,3,...] (50000 items)"),
// for error messages.
std::string brief(const nlohmann::json& value, size_t limit = 80);

}  // namespace vmunet
