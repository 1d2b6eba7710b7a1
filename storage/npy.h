// NumPy .npy arrays (format versions 1.0, 2.0 and 3.0): little-endian bool, int8-64, uint8-64,
// float32 and float64 in C order. Anything else (big-endian, Fortran order, structured or object
// dtypes) is rejected with a message naming the source and the problem.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmunet {

enum class NpyType {
  boolean,
  int8,
  int16,
  int32,
  int64,
  uint8,
  uint16,
  uint32,
  uint64,
  float32,
  float64
};

struct NpyArray {
  NpyType type = NpyType::float32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // little-endian elements, C order

  int64_t size() const;  // number of elements
  // Every element as float (exact for float32 and for integers up to 2^24 in magnitude).
  std::vector<float> to_float() const;
};

// `where` names the source in messages (a file, or "archive.npz:member.npy").
NpyArray parse_npy(const std::vector<uint8_t>& bytes, const std::string& where);

// A float32 C-order .npy file (format 1.0) holding `values` of `shape`, that numpy.load reads.
std::string npy_float32_bytes(const std::vector<int64_t>& shape, const float* values);

}  // namespace vmunet
