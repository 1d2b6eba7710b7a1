#include "metrics/distance_transform.h"

#include <algorithm>
#include <limits>
#include <string>

#include "common/error.h"

namespace vmunet {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Scratch space for one line of length up to n: parabola apexes v and envelope boundaries z.
struct Envelope {
  std::vector<double> f, d, z;
  std::vector<int64_t> v;
  explicit Envelope(int64_t n) : f(n), d(n), z(n + 1), v(n) {}
};

// d[q] = min_p (q − p)² + f[p] over the first n entries of e.f, into e.d. Infinite f[p] (no site
// reachable yet) contribute no parabola. Every f is an integer, so each intersection s is a
// rational with denominator ≤ 2n: two distinct ones differ by far more than double rounding, and
// where they tie either parabola gives the same minimum, so the result is exact.
void lower_envelope(Envelope& e, int64_t n) {
  auto intersect = [&](int64_t q, int64_t p) {
    return ((e.f[q] + static_cast<double>(q * q)) - (e.f[p] + static_cast<double>(p * p))) /
           static_cast<double>(2 * q - 2 * p);
  };
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (e.f[q] == kInf) continue;
    if (k < 0) {
      k = 0;
      e.v[0] = q;
      e.z[0] = -kInf;
      e.z[1] = kInf;
      continue;
    }
    double s = intersect(q, e.v[k]);
    while (s <= e.z[k]) {  // z[0] = −inf stops this at k = 0
      --k;
      s = intersect(q, e.v[k]);
    }
    ++k;
    e.v[k] = q;
    e.z[k] = s;
    e.z[k + 1] = kInf;
  }
  if (k < 0) {
    std::fill(e.d.begin(), e.d.begin() + n, kInf);
    return;
  }
  k = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (e.z[k + 1] < static_cast<double>(q)) ++k;
    const double dq = static_cast<double>(q - e.v[k]);
    e.d[q] = dq * dq + e.f[e.v[k]];
  }
}

// Applies lower_envelope to every line of `g` along the axis with `n` voxels and `stride`;
// `count` lines start at the offsets produced by `line_start(i)`.
template <typename Start>
void transform_lines(std::vector<double>& g, int64_t n, int64_t stride, int64_t count,
                     Start line_start, Envelope& e) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t base = line_start(i);
    for (int64_t q = 0; q < n; ++q) e.f[q] = g[base + q * stride];
    lower_envelope(e, n);
    for (int64_t q = 0; q < n; ++q) g[base + q * stride] = e.d[q];
  }
}

}  // namespace

std::vector<double> squared_distance_transform(const std::vector<uint8_t>& sites,
                                               const Grid3& grid) {
  const int64_t D = grid.depth, H = grid.height, W = grid.width;
  if (D < 0 || H < 0 || W < 0 || static_cast<int64_t>(sites.size()) != grid.voxels()) {
    throw Error("distance transform: " + std::to_string(sites.size()) +
                " voxels do not fill a grid of " + std::to_string(D) + "x" + std::to_string(H) +
                "x" + std::to_string(W));
  }
  std::vector<double> g(sites.size());
  for (size_t i = 0; i < sites.size(); ++i) g[i] = sites[i] ? 0.0 : kInf;
  Envelope e(std::max({D, H, W, int64_t{1}}));
  transform_lines(
      g, W, 1, D * H, [&](int64_t i) { return i * W; }, e);
  transform_lines(
      g, H, W, D * W, [&](int64_t i) { return (i / W) * H * W + i % W; }, e);
  transform_lines(
      g, D, H * W, H * W, [](int64_t i) { return i; }, e);
  return g;
}

}  // namespace vmunet
