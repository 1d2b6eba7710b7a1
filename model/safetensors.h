// safetensors files: an 8-byte little-endian header length, a JSON header mapping each tensor name
// to {dtype, shape, data_offsets} (plus an optional "__metadata__" string map), then the raw
// little-endian data, every byte of which belongs to exactly one tensor.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace vmunet {

using TensorMap = std::map<std::string, torch::Tensor>;

struct SafetensorsFile {
  TensorMap tensors;                            // CPU tensors owning their memory
  std::map<std::string, std::string> metadata;  // the "__metadata__" section (may be empty)
};

// Reads and validates the whole file: header length against the file size, JSON syntax, known
// dtypes (F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL), non-negative shapes whose byte size equals the
// offset span, offsets inside the data region, neither overlapping nor leaving gaps. Any problem
// throws vmunet::Error naming the file and, where there is one, the tensor.
SafetensorsFile read_safetensors(const std::string& path);

// Writes tensors (any device, made contiguous on the CPU) with sorted keys, data in key order and
// the header padded with spaces to a multiple of 8 bytes. The file appears complete or not at all
// (written to `path`.tmp, then renamed).
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace vmunet
