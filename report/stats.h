// Mean, sample standard deviation and count of a metric over seeds.
#pragma once

#include <cstdint>
#include <vector>

namespace vmunet::report {

struct Summary {
  double mean = 0;
  double std = 0;  // sample standard deviation (n − 1); NaN when n < 2
  int64_t n = 0;
};

// values must not be empty.
Summary summarize(const std::vector<double>& values);

}  // namespace vmunet::report
