// Relative-error tolerances (max|a−b| / max|b|) for every numerical comparison, one table per
// dtype.
#pragma once

#include <torch/types.h>

namespace vmunet::test {

struct Tolerance {
  double forward;
  double gradient;
};

inline Tolerance tolerance_for(torch::ScalarType t) {
  switch (t) {
    case torch::kDouble:
      return {1e-10, 1e-9};
    case torch::kBFloat16:
      return {2e-2, 5e-2};  // 8-bit mantissa inputs; fp32 state and accumulation
    default:
      return {1e-4, 1e-3};  // fp32: the fixtures' stated agreement
  }
}

// A data-parallel run against a one-rank run of the same config, after a few steps: the whole
// parameter vector and each tensor (tests/mpi/test_data_parallel.cpp says where the rounding
// comes from and what was measured).
struct DataParallelTolerance {
  double whole = 5e-5, tensor = 1e-2;
};

// max|a−b| / max|b|, in double.
inline double rel_error(const torch::Tensor& a, const torch::Tensor& b) {
  auto ad = a.to(torch::kDouble), bd = b.to(torch::kDouble);
  const double scale = bd.abs().max().item<double>();
  const double diff = (ad - bd).abs().max().item<double>();
  return scale > 0 ? diff / scale : diff;
}

}  // namespace vmunet::test
