#include "common/json_parse.h"

#include <set>
#include <vector>

#include "common/error.h"

namespace vmunet {
namespace {

using json = nlohmann::json;

// Where the parser is: one frame per open object or array.
struct Frame {
  bool object = false;
  std::set<std::string> keys;  // objects: keys seen so far
  std::string key;             // objects: the current member
  size_t index = 0;            // arrays: the current element
};

std::string dotted(const std::vector<Frame>& frames) {
  std::string path;
  for (const Frame& f : frames) {
    if (f.object && !f.key.empty())
      path += (path.empty() ? "" : ".") + f.key;
    else if (!f.object)
      path += "[" + std::to_string(f.index) + "]";
  }
  return path.size() <= 80 ? path : path.substr(0, 80) + "...";
}

// Appends `value` to `out` until `out` reaches `limit` characters; recursion stops there too, so
// even a deep value costs at most `limit` frames.
void render(const json& value, size_t limit, std::string& out) {
  if (out.size() >= limit) return;
  if (value.is_string() && value.get_ref<const std::string&>().size() > limit) {
    out += json(value.get_ref<const std::string&>().substr(0, limit)).dump();
    return;
  }
  if (!value.is_structured()) {
    out += value.dump();
    return;
  }
  const bool object = value.is_object();
  out += object ? '{' : '[';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && out.size() < limit; ++it) {
    if (!first) out += ',';
    first = false;
    if (object) out += json(it.key()).dump() + ':';
    render(*it, limit, out);
  }
  out += object ? '}' : ']';
}

// nlohmann's messages quote the last token read, which may be a whole megabyte-long string.
// Drops the "[json.exception.parse_error.101] " tag, which means nothing to a user.
std::string clipped(std::string message) {
  constexpr size_t kLimit = 200;
  if (message.rfind("[json.exception.", 0) == 0 && message.find("] ") != std::string::npos)
    message.erase(0, message.find("] ") + 2);
  return message.size() <= kLimit ? message : message.substr(0, kLimit) + "...";
}

}  // namespace

json parse_json(const std::string& text, const std::string& where) {
  std::vector<Frame> frames;
  const auto next_element = [&] {
    if (!frames.empty() && !frames.back().object) ++frames.back().index;
  };
  const json::parser_callback_t track = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          throw Error(where + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels at " + (frames.empty() ? "the top" : dotted(frames)));
        frames.push_back({event == json::parse_event_t::object_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw Error(where + ": duplicate key " + dotted(frames) +
                      " (JSON would silently keep the last); remove one");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames.pop_back();
        next_element();
        break;
      case json::parse_event_t::value:
        next_element();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, track);
  } catch (const json::parse_error& e) {
    throw Error(where + ": not valid JSON (" + clipped(e.what()) + ")");
  } catch (const json::exception& e) {  // e.g. "number overflow parsing '1e400'"
    const std::string at = dotted(frames);
    throw Error(where + ": " + clipped(e.what()) + (at.empty() ? "" : " at " + at));
  }
}

std::string brief(const json& value, size_t limit) {
  std::string out;
  render(value, limit, out);
  if (out.size() <= limit) return out;
  out.resize(limit);
  out += "...";
  if (value.is_structured()) out += " (" + std::to_string(value.size()) + " items)";
  return out;
}

}  // namespace vmunet
