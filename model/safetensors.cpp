#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "common/error.h"
#include "common/json_parse.h"

namespace vmunet {
namespace {

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  uint64_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat, 4},     {"F64", torch::kDouble, 8}, {"F16", torch::kHalf, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kLong, 8},   {"I32", torch::kInt, 4},
    {"I16", torch::kShort, 2},     {"I8", torch::kChar, 1},    {"U8", torch::kByte, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* dtype_by_type(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

// A tensor name as errors show it: a header may hold megabyte-long names.
std::string shown(const std::string& name) {
  return name.size() <= 80 ? name : name.substr(0, 80) + "...";
}

// One header entry, validated on its own; offsets are relative to the data region.
struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& j,
                  uint64_t data_size) {
  const std::string where = path + ": tensor '" + shown(name) + "'";
  if (!j.is_object()) throw Error(where + ": header entry must be an object, found " + brief(j));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!j.contains(key)) throw Error(where + ": header entry lacks \"" + key + "\"");

  Entry e{name, nullptr, {}, 0, 0};
  if (!j["dtype"].is_string()) throw Error(where + ": dtype must be a string");
  e.dtype = dtype_by_name(j["dtype"].get<std::string>());
  if (!e.dtype)
    throw Error(where + ": unknown dtype " + brief(j["dtype"]) +
                " (supported: F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL)");

  const auto& shape = j["shape"];
  if (!shape.is_array()) throw Error(where + ": shape must be a list of integers");
  uint64_t numel = 1;
  for (const auto& dim : shape) {
    if (!dim.is_number_unsigned())
      throw Error(where + ": shape must hold non-negative integers, found " + brief(shape));
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(INT64_MAX) || __builtin_mul_overflow(numel, d, &numel))
      throw Error(where + ": shape " + brief(shape) + " is too large");
    e.shape.push_back(static_cast<int64_t>(d));
  }

  const auto& offsets = j["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    throw Error(where + ": data_offsets must be two non-negative integers, found " +
                brief(offsets));
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.begin > e.end) throw Error(where + ": data_offsets " + brief(offsets) + " are reversed");
  if (e.end > data_size)
    throw Error(where + ": data_offsets " + brief(offsets) + " reach past the data region (" +
                std::to_string(data_size) + " bytes); the file is truncated or corrupt");
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, e.dtype->size, &bytes) || bytes != e.end - e.begin)
    throw Error(where + ": shape " + brief(shape) + " of " + e.dtype->name + " needs " +
                std::to_string(numel) + " x " + std::to_string(e.dtype->size) +
                " bytes but data_offsets " + brief(offsets) + " span " +
                std::to_string(e.end - e.begin));
  return e;
}

// The tensors must tile the data region exactly: sorted by offset, each starts where the last
// ended.
void check_tiling(const std::string& path, std::vector<Entry>& entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  std::string previous = "the start of the data region";
  for (const auto& e : entries) {
    if (e.begin < pos)
      throw Error(path + ": tensor '" + shown(e.name) + "' data_offsets overlap " + previous);
    if (e.begin > pos)
      throw Error(path + ": bytes " + std::to_string(pos) + ".." + std::to_string(e.begin) +
                  " of the data region belong to no tensor (gap before tensor '" + shown(e.name) +
                  "')");
    pos = e.end;
    previous = "tensor '" + shown(e.name) + "'";
  }
  if (pos != data_size)
    throw Error(path + ": the data region has " + std::to_string(data_size) +
                " bytes but its tensors cover only " + std::to_string(pos));
}

std::map<std::string, std::string> parse_metadata(const std::string& path,
                                                  const nlohmann::json& j) {
  if (!j.is_object()) throw Error(path + ": __metadata__ must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& item : j.items()) {
    if (!item.value().is_string())
      throw Error(path + ": __metadata__ value of '" + shown(item.key()) +
                  "' must be a string, found " + brief(item.value()));
    out[item.key()] = item.value().get<std::string>();
  }
  return out;
}

}  // namespace

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path + ": cannot open safetensors file");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < 8)
    throw Error(path + ": not a safetensors file (" + std::to_string(file_size) +
                " bytes, shorter than the 8-byte header length)");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > file_size - 8)
    throw Error(path + ": header length " + std::to_string(header_len) + " exceeds the " +
                std::to_string(file_size - 8) +
                " bytes after it; the file is truncated or not safetensors");

  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  if (!in) throw Error(path + ": cannot read the safetensors header");
  const nlohmann::json j = parse_json(header, path + ": safetensors header");
  if (!j.is_object()) throw Error(path + ": safetensors header must be a JSON object");

  const uint64_t data_start = 8 + header_len, data_size = file_size - data_start;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& item : j.items()) {
    if (item.key() == "__metadata__")
      out.metadata = parse_metadata(path, item.value());
    else
      entries.push_back(parse_entry(path, item.key(), item.value(), data_size));
  }
  check_tiling(path, entries, data_size);

  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) {
      in.seekg(static_cast<std::streamoff>(data_start + e.begin));
      in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin));
      if (!in) throw Error(path + ": tensor '" + shown(e.name) + "': cannot read its data");
    }
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> data;  // in key order, matching the offsets
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error(path + ": '__metadata__' cannot name a tensor");
    VMUNET_CHECK(tensor.defined(), path + ": tensor '" + name + "' is undefined");
    const DtypeInfo* dtype = dtype_by_type(tensor.scalar_type());
    if (!dtype)
      throw Error(path + ": tensor '" + name + "' has dtype " +
                  std::string(c10::toString(tensor.scalar_type())) +
                  ", which safetensors files here do not hold (use F32 F64 F16 BF16 I64 I32 I16 "
                  "I8 U8 BOOL)");
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype->size;
    header[name] = {{"dtype", dtype->name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", nlohmann::json::array({offset, offset + bytes})}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(tmp + ": cannot create file for writing");
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));
    out.write(reinterpret_cast<const char*>(len_bytes), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& t : data)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
    out.close();
    if (!out) throw Error(tmp + ": write failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error(path + ": cannot rename " + tmp + " into place");
}

}  // namespace vmunet
