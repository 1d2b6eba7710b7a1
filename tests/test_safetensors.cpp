// safetensors reader and writer: round trips over every dtype, the exact on-disk layout, a
// hand-made file, the fixture, and one clear error per kind of damage.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "model/safetensors.h"

namespace vmunet {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("vmunet_test_safetensors_" + name)).string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file from a header string and raw data, as another writer might produce it.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

// The message of the vmunet::Error that reading `bytes` raises.
std::string read_error(const std::string& name, const std::string& bytes) {
  const std::string path = temp_path(name);
  write_bytes(path, bytes);
  try {
    read_safetensors(path);
  } catch (const Error& e) {
    std::remove(path.c_str());
    return e.what();
  }
  std::remove(path.c_str());
  ADD_FAILURE() << name << ": reading did not throw";
  return "";
}

void expect_contains(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& p : parts)
    EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' not in: " << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
}

TEST(Safetensors, RoundTripEveryDtypeAndMetadata) {
  TensorMap tensors{
      {"f32", torch::tensor({{1.5f, -2.0f, 3.25f}, {0.0f, 1e-30f, -7.0f}})},
      {"f64", torch::tensor({1.0 / 3.0, -1e300}, torch::kDouble)},
      {"f16", torch::tensor({0.5, -65504.0}).to(torch::kHalf)},
      {"bf16", torch::tensor({1.0, -3.0e38}).to(torch::kBFloat16)},
      {"i64", torch::tensor({INT64_MIN, int64_t{42}}, torch::kLong)},
      {"i32", torch::tensor({-5, 7}, torch::kInt)},
      {"i16", torch::tensor({-300, 300}, torch::kShort)},
      {"i8", torch::tensor({-128, 127}, torch::kChar)},
      {"u8", torch::tensor({0, 255}, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(2.5f)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::arange(12, torch::kFloat).view({3, 4}).t()},  // non-contiguous
  };
  const std::map<std::string, std::string> metadata{{"model", R"({"embed_dim": 96})"},
                                                    {"note", "x"}};
  const std::string path = temp_path("roundtrip.safetensors");
  write_safetensors(path, tensors, metadata);
  const auto file = read_safetensors(path);
  std::remove(path.c_str());

  EXPECT_EQ(file.metadata, metadata);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const auto& r = file.tensors.at(name);
    EXPECT_EQ(r.scalar_type(), t.scalar_type());
    EXPECT_EQ(r.sizes(), t.sizes());
    EXPECT_TRUE(torch::equal(r, t));
  }
}

TEST(Safetensors, WriterLayoutIsSortedAlignedAndPadded) {
  const std::string path = temp_path("layout.safetensors");
  write_safetensors(path,
                    {{"b", torch::tensor({7}, torch::kInt)}, {"a", torch::tensor({1.0f, 2.0f})}});
  const std::string bytes = read_bytes(path);
  std::remove(path.c_str());

  // Keys sorted, data in key order: a (8 bytes) then b (4 bytes); header padded to 8 bytes.
  const std::string json = R"({"a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]},)"
                           R"("b":{"data_offsets":[8,12],"dtype":"I32","shape":[1]}})";
  const std::string header = json + std::string((8 - json.size() % 8) % 8, ' ');
  EXPECT_EQ(bytes, make_file(header, raw<float>({1.0f, 2.0f}) + raw<int32_t>({7})));
  EXPECT_EQ(header.size() % 8, 0u);
}

TEST(Safetensors, ReadsForeignFileWithUnsortedOffsets) {
  // Offsets need not follow key order; metadata may come anywhere; header may end in spaces.
  const std::string header =
      R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},)"
      R"("__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}   )";
  const std::string path = temp_path("foreign.safetensors");
  write_bytes(path, make_file(header, raw<int32_t>({-9}) + raw<float>({1.5f, -2.0f})));
  const auto file = read_safetensors(path);
  std::remove(path.c_str());
  EXPECT_EQ(file.metadata.at("format"), "pt");
  EXPECT_EQ(file.tensors.at("b").item<int32_t>(), -9);
  EXPECT_TRUE(torch::equal(file.tensors.at("a"), torch::tensor({1.5f, -2.0f})));
}

TEST(Safetensors, ReadsTheParityFixture) {
  const auto file = read_safetensors(std::string(VMUNET_FIXTURES) + "/vmunet-small.safetensors");
  EXPECT_EQ(file.tensors.size(), 449u);
  EXPECT_EQ(file.tensors.at("logits").sizes(), (std::vector<int64_t>{2, 1, 64, 64}));
  EXPECT_EQ(file.tensors.at("input").sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  const auto model = nlohmann::json::parse(file.metadata.at("model"));
  EXPECT_EQ(model["dims"], nlohmann::json({16, 32, 64, 128}));
  // output = sigmoid(logits), as REFERENCE.md states: checks the data came through intact.
  EXPECT_TRUE(torch::allclose(file.tensors.at("output"), torch::sigmoid(file.tensors.at("logits")),
                              1e-6, 1e-7));
}

const std::string kOneTensor = R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
const std::string kData = raw<float>({1.0f, 2.0f});

TEST(SafetensorsErrors, MissingFile) {
  try {
    read_safetensors("/nonexistent/x.safetensors");
    FAIL() << "no error";
  } catch (const Error& e) {
    expect_contains(e.what(), {"/nonexistent/x.safetensors", "cannot open"});
  }
}

TEST(SafetensorsErrors, TruncatedFiles) {
  const std::string good = make_file(kOneTensor, kData);
  expect_contains(read_error("trunc_data", good.substr(0, good.size() - 3)),
                  {"trunc_data", "tensor 't'", "truncated"});
  expect_contains(read_error("trunc_header", good.substr(0, 20)), {"trunc_header", "truncated"});
  expect_contains(read_error("trunc_len", good.substr(0, 5)), {"trunc_len", "8-byte"});
}

TEST(SafetensorsErrors, BadHeaderJson) {
  expect_contains(read_error("bad_json", make_file(R"({"t":{"dtype":"F32",)", kData)),
                  {"bad_json", "not valid JSON"});
  expect_contains(read_error("not_object", make_file("[1, 2]", "")), {"not_object", "JSON object"});
  expect_contains(read_error("bad_meta", make_file(R"({"__metadata__":{"k":3}})", "")),
                  {"bad_meta", "__metadata__", "'k'"});
  expect_contains(
      read_error("no_shape", make_file(R"({"t":{"dtype":"F32","data_offsets":[0,8]}})", kData)),
      {"no_shape", "tensor 't'", "shape"});
}

TEST(SafetensorsErrors, UnknownDtype) {
  expect_contains(
      read_error("dtype",
                 make_file(R"({"t":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", kData)),
      {"dtype", "tensor 't'", "unknown dtype", "F8_E4M3"});
}

TEST(SafetensorsErrors, BadShapesAndOffsets) {
  expect_contains(
      read_error("range",
                 make_file(R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", kData)),
      {"range", "tensor 't'", "past the data region"});
  expect_contains(
      read_error("span",
                 make_file(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kData)),
      {"span", "tensor 't'", "needs 3 x 4 bytes"});
  expect_contains(
      read_error("negative",
                 make_file(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", kData)),
      {"negative", "tensor 't'", "non-negative"});
  expect_contains(
      read_error("overlap", make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                      kData)),
      {"overlap", "tensor 'b'", "overlap tensor 'a'"});
  expect_contains(
      read_error("gap",
                 make_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", kData)),
      {"gap", "tensor 't'", "belong to no tensor"});
  expect_contains(
      read_error("uncovered",
                 make_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", kData)),
      {"uncovered", "cover only 4"});
}

TEST(SafetensorsErrors, WriterRejectsUnsupportedDtype) {
  try {
    write_safetensors(temp_path("complex.safetensors"),
                      {{"z", torch::zeros({2}, torch::kComplexFloat)}});
    FAIL() << "no error";
  } catch (const Error& e) {
    expect_contains(e.what(), {"complex.safetensors", "tensor 'z'", "ComplexFloat"});
  }
}

}  // namespace
}  // namespace vmunet
