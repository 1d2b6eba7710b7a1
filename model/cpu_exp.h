// exp for CPU kernels whose loops should vectorise (the scan, the SS2D prologue).
//
// Internal linkage on purpose: each kernel file compiles these for its own instruction set
// (selective_scan_cpu_avx2.cpp with -mavx2), and one shared definition would let the linker pick
// the AVX2 copy for the portable kernels too.
#pragma once

#include <cmath>
#include <cstdint>

namespace vmunet {
namespace {

// exp in plain arithmetic, so a loop of it vectorises (libm's expf does not without
// -ffast-math): Cody–Waite reduction to r in [−ln2/2, ln2/2], Cephes' degree-6 polynomial
// (about 1e−7 relative error), 2^k by exponent bits with k clamped to [−127, 128], which makes
// the scale 0 or ∞: results are 0 below about −87.3 and ∞ above about 88 (NaN past ±1e9,
// where only a diverged run goes). Double stays on libm: the finite-difference checks run in
// double and want it exact.
//
// The clamp bounds come from `kExpK`, read once per task through a volatile: with literal
// bounds GCC folds the clamped cases into selects of constant results, three times the
// instructions of the maxps/minps it emits for run-time bounds.
struct ExpK {
  float lo, hi;
};
volatile const ExpK kExpK{-127.0f, 128.0f};
inline ExpK exp_k() { return {kExpK.lo, kExpK.hi}; }

inline float exp_of(float x, ExpK lim) {
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float k_raw = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = x - k_raw * 0.693359375f + k_raw * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  float k = k_raw > lim.lo ? k_raw : lim.lo;
  k = k < lim.hi ? k : lim.hi;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  return p * __builtin_bit_cast(float, bits);
}
inline double exp_of(double x, ExpK) { return std::exp(x); }

}  // namespace
}  // namespace vmunet
