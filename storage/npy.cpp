#include "storage/npy.h"

#include <cctype>
#include <cstring>
#include <map>

#include "common/error.h"

namespace vmunet {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the .npy reader assumes a little-endian host");

struct TypeInfo {
  NpyType type;
  size_t size;
};

const std::map<std::string, TypeInfo>& known_types() {
  static const std::map<std::string, TypeInfo> types{
      {"|b1", {NpyType::boolean, 1}}, {"|i1", {NpyType::int8, 1}},   {"|u1", {NpyType::uint8, 1}},
      {"<i1", {NpyType::int8, 1}},    {"<u1", {NpyType::uint8, 1}},  {"<i2", {NpyType::int16, 2}},
      {"<u2", {NpyType::uint16, 2}},  {"<i4", {NpyType::int32, 4}},  {"<u4", {NpyType::uint32, 4}},
      {"<i8", {NpyType::int64, 8}},   {"<u8", {NpyType::uint64, 8}}, {"<f4", {NpyType::float32, 4}},
      {"<f8", {NpyType::float64, 8}}};
  return types;
}

size_t type_size(NpyType type) {
  for (const auto& [name, info] : known_types())
    if (info.type == type) return info.size;
  return 0;
}

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string text, std::string where)
      : text_(std::move(text)), where_(std::move(where)) {
    text_.erase(text_.find_last_not_of(" \n") + 1);  // NumPy's padding; messages stay one line
  }

  void parse(std::string& descr, bool& fortran_order, std::vector<int64_t>& shape) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        shape = tuple();
        seen_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    if (!seen_descr || !seen_order || !seen_shape)
      fail("needs the keys 'descr', 'fortran_order' and 'shape'");
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw Error(where_ + ": malformed .npy header (" + problem + "): " + text_);
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      fail("expected a quoted string");
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string::npos) fail("unterminated string");
    std::string value = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, {"False", false}})
      if (text_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return value;
      }
    fail("expected True or False");
  }
  std::vector<int64_t> tuple() {
    std::vector<int64_t> values;
    expect('(');
    while (!accept(')')) {
      skip_space();
      size_t used = 0;
      long long value = -1;
      try {
        value = std::stoll(text_.substr(pos_), &used);
      } catch (const std::exception&) {
        fail("expected a dimension");
      }
      if (value < 0) fail("negative dimension");
      values.push_back(value);
      pos_ += used;
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return values;
  }

  std::string text_, where_;
  size_t pos_ = 0;
};

template <typename T>
void convert(const uint8_t* data, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, data + i * sizeof(T), sizeof(T));
    out[i] = static_cast<float>(value);
  }
}

}  // namespace

int64_t NpyArray::size() const {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

std::vector<float> NpyArray::to_float() const {
  std::vector<float> out(static_cast<size_t>(size()));
  const uint8_t* in = data.data();
  const int64_t n = size();
  switch (type) {
    case NpyType::boolean:
    case NpyType::uint8:
      convert<uint8_t>(in, n, out.data());
      break;
    case NpyType::int8:
      convert<int8_t>(in, n, out.data());
      break;
    case NpyType::int16:
      convert<int16_t>(in, n, out.data());
      break;
    case NpyType::uint16:
      convert<uint16_t>(in, n, out.data());
      break;
    case NpyType::int32:
      convert<int32_t>(in, n, out.data());
      break;
    case NpyType::uint32:
      convert<uint32_t>(in, n, out.data());
      break;
    case NpyType::int64:
      convert<int64_t>(in, n, out.data());
      break;
    case NpyType::uint64:
      convert<uint64_t>(in, n, out.data());
      break;
    case NpyType::float32:
      convert<float>(in, n, out.data());
      break;
    case NpyType::float64:
      convert<double>(in, n, out.data());
      break;
  }
  return out;
}

NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& where) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    throw Error(where + ": not a .npy file (no \\x93NUMPY magic)");
  const int major = bytes[6];
  if (major < 1 || major > 3)
    throw Error(where + ": .npy format version " + std::to_string(major) + "." +
                std::to_string(bytes[7]) + " is not supported (1.0, 2.0 and 3.0 are)");
  const size_t length_bytes = major == 1 ? 2 : 4;
  size_t header_length = 0;
  if (bytes.size() < 8 + length_bytes) throw Error(where + ": .npy header truncated");
  for (size_t i = 0; i < length_bytes; ++i) header_length |= size_t{bytes[8 + i]} << (8 * i);
  const size_t data_start = 8 + length_bytes + header_length;
  if (bytes.size() < data_start) throw Error(where + ": .npy header truncated");

  std::string descr;
  bool fortran_order = false;
  NpyArray array;
  HeaderParser(std::string(bytes.begin() + 8 + length_bytes, bytes.begin() + data_start), where)
      .parse(descr, fortran_order, array.shape);
  if (fortran_order)
    throw Error(where + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
  const auto type = known_types().find(descr);
  if (type == known_types().end()) {
    const bool big_endian = !descr.empty() && descr[0] == '>';
    throw Error(where + ": dtype '" + descr + "' is not supported" +
                (big_endian ? " (big-endian; convert with .astype('<" + descr.substr(1) + "'))"
                            : " (use bool, int8-64, uint8-64, float32 or float64)"));
  }
  array.type = type->second.type;
  const size_t expected = static_cast<size_t>(array.size()) * type_size(array.type);
  const size_t found = bytes.size() - data_start;
  if (found != expected)
    throw Error(where + ": holds " + std::to_string(found) + " data bytes, its header (" +
                std::to_string(array.size()) + " elements of " + descr + ") says " +
                std::to_string(expected) + (found < expected ? " (truncated)" : ""));
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_start), bytes.end());
  return array;
}

std::string npy_float32_bytes(const std::vector<int64_t>& shape, const float* values) {
  std::string dims;
  int64_t count = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // "(2, 3)", but "(4,)" for one dimension
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // The magic (6), version (2) and length (2) bytes plus the header end on a 64-byte boundary.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(values), static_cast<size_t>(count) * sizeof(float));
  return out;
}

}  // namespace vmunet
