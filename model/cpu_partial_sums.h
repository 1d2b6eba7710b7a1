// The CPU kernels' last step: per-task partial sums (one slice per batch element or block of rows)
// folded into the result in a fixed order, so the result does not depend on which thread computed
// which slice.
//
// Internal linkage, as in cpu_exp.h: the scan's kernel files compile it once per instruction set.
#pragma once

#include <cstdint>

namespace vmunet {
namespace {

// out[i] = Σ_p parts[p·n + i] for i < n, the `count` slices added in order from 0.
template <typename T>
void sum_partials(const T* parts, int64_t count, int64_t n, T* out) {
  for (int64_t i = 0; i < n; ++i) {
    T s = 0;
    for (int64_t p = 0; p < count; ++p) s += parts[p * n + i];
    out[i] = s;
  }
}

}  // namespace
}  // namespace vmunet
