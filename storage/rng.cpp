#include "storage/rng.h"

#include <cmath>
#include <numeric>

#include "common/error.h"

namespace vmunet {

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::uniform(double low, double high) { return low + (high - low) * uniform(); }

int64_t Rng::below(int64_t n) {
  VMUNET_CHECK(n > 0, "Rng::below needs a positive bound");
  const auto bound = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;  // reject the uneven tail
  uint64_t value = engine_();
  while (value >= limit) value = engine_();
  return static_cast<int64_t>(value % bound);
}

double Rng::normal() {
  const double u = 1.0 - uniform();  // (0, 1]: log stays finite
  const double v = uniform();
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[below(i + 1)]);
  return order;
}

}  // namespace vmunet
