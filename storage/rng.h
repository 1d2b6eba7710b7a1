// A seeded random generator whose every draw is defined here: std::mt19937_64's bit stream is
// fixed by the standard, but std::*_distribution results differ between standard libraries, and a
// seed must give the same split and the same synthetic data everywhere.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace vmunet {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  double uniform();                             // [0, 1), 53 random bits
  double uniform(double low, double high);      // [low, high)
  int64_t below(int64_t n);                     // [0, n), unbiased; n > 0
  double normal();                              // standard normal (Box-Muller)
  std::vector<int64_t> permutation(int64_t n);  // Fisher-Yates shuffle of 0..n-1

 private:
  std::mt19937_64 engine_;
};

}  // namespace vmunet
