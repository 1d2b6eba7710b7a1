#include "report/stats.h"

#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace vmunet::report {

Summary summarize(const std::vector<double>& values) {
  if (values.empty()) throw Error("summarize: no values");
  Summary s;
  s.n = static_cast<int64_t>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / s.n;
  if (s.n < 2) {
    s.std = std::numeric_limits<double>::quiet_NaN();
    return s;
  }
  double squares = 0;
  for (double v : values) squares += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(squares / (s.n - 1));
  return s;
}

}  // namespace vmunet::report
