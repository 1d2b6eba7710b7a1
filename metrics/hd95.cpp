#include "metrics/hd95.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace vmunet {
namespace {

void check_size(const std::vector<uint8_t>& mask, const Grid3& grid, const char* what) {
  if (static_cast<int64_t>(mask.size()) != grid.voxels()) {
    throw Error(std::string(what) + ": mask of " + std::to_string(mask.size()) +
                " voxels does not fill a grid of " + std::to_string(grid.depth) + "x" +
                std::to_string(grid.height) + "x" + std::to_string(grid.width));
  }
}

// Half-open voxel box [lo, hi) per axis (z, y, x).
struct Box {
  int64_t lo[3], hi[3];
  Grid3 grid() const { return {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]}; }
};

// The smallest box holding every nonzero voxel of a or b.
Box union_bounds(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const Grid3& g) {
  Box box{{g.depth, g.height, g.width}, {0, 0, 0}};
  for (int64_t z = 0, i = 0; z < g.depth; ++z) {
    for (int64_t y = 0; y < g.height; ++y) {
      for (int64_t x = 0; x < g.width; ++x, ++i) {
        if (!a[i] && !b[i]) continue;
        const int64_t p[3] = {z, y, x};
        for (int k = 0; k < 3; ++k) {
          box.lo[k] = std::min(box.lo[k], p[k]);
          box.hi[k] = std::max(box.hi[k], p[k] + 1);
        }
      }
    }
  }
  return box;
}

std::vector<uint8_t> crop(const std::vector<uint8_t>& m, const Grid3& g, const Box& box) {
  const Grid3 c = box.grid();
  std::vector<uint8_t> out(c.voxels());
  for (int64_t z = 0, i = 0; z < c.depth; ++z) {
    for (int64_t y = 0; y < c.height; ++y) {
      const int64_t src = ((z + box.lo[0]) * g.height + y + box.lo[1]) * g.width + box.lo[2];
      for (int64_t x = 0; x < c.width; ++x, ++i) out[i] = m[src + x] != 0;
    }
  }
  return out;
}

// Appends, for every surface voxel, its distance to the nearest site of the squared distance
// transform `to_sq`.
void append_distances(const std::vector<uint8_t>& from_surface, const std::vector<double>& to_sq,
                      std::vector<double>& out) {
  for (size_t i = 0; i < from_surface.size(); ++i) {
    if (from_surface[i]) out.push_back(std::sqrt(to_sq[i]));
  }
}

}  // namespace

std::vector<uint8_t> surface_voxels(const std::vector<uint8_t>& mask, const Grid3& g) {
  check_size(mask, g, "surface voxels");
  const int64_t D = g.depth, H = g.height, W = g.width;
  std::vector<uint8_t> surface(mask.size(), 0);
  for (int64_t z = 0, i = 0; z < D; ++z) {
    for (int64_t y = 0; y < H; ++y) {
      for (int64_t x = 0; x < W; ++x, ++i) {
        if (!mask[i]) continue;
        // Kept by the erosion only if all six (planar: four) neighbours exist and are in the mask.
        const bool interior =
            (g.planar || (z > 0 && z < D - 1 && mask[i - H * W] && mask[i + H * W])) && y > 0 &&
            y < H - 1 && x > 0 && x < W - 1 && mask[i - W] && mask[i + W] && mask[i - 1] &&
            mask[i + 1];
        surface[i] = !interior;
      }
    }
  }
  return surface;
}

double hd95(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const Grid3& grid) {
  check_size(a, grid, "hd95");
  check_size(b, grid, "hd95");
  const auto nonzero = [](const std::vector<uint8_t>& m) {
    return std::any_of(m.begin(), m.end(), [](uint8_t v) { return v != 0; });
  };
  if (!nonzero(a) || !nonzero(b)) {
    throw Error("hd95: both masks must contain at least one voxel (" +
                std::string(nonzero(a) ? "second" : "first") + " is empty)");
  }
  // Distances between surface voxels do not depend on the space around them, and outside the
  // union's bounding box both masks are empty, so erosion there sees the same background as
  // outside the grid: work inside that box only.
  const Box box = union_bounds(a, b, grid);
  Grid3 g = box.grid();
  g.planar = grid.planar;
  const auto surface_a = surface_voxels(crop(a, grid, box), g);
  const auto surface_b = surface_voxels(crop(b, grid, box), g);
  std::vector<double> distances;
  append_distances(surface_a, squared_distance_transform(surface_b, g), distances);
  append_distances(surface_b, squared_distance_transform(surface_a, g), distances);
  return percentile(distances, 95.0);
}

double percentile(std::vector<double>& values, double q) {
  if (values.empty()) throw Error("percentile of an empty set of values");
  if (!(q >= 0 && q <= 100))
    throw Error("percentile: q must be in [0, 100], got " + std::to_string(q));
  const auto n = static_cast<int64_t>(values.size());
  // For integer q, (n − 1)·q is exact and one correctly rounded division cannot cross an
  // integer, so ⌊h⌋ is the exact order statistic.
  const double h = static_cast<double>(n - 1) * q / 100.0;
  const auto lo = static_cast<int64_t>(std::floor(h));
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  const double x_lo = values[lo];
  if (lo + 1 >= n) return x_lo;
  const double x_hi = *std::min_element(values.begin() + lo + 1, values.end());
  return x_lo + (h - static_cast<double>(lo)) * (x_hi - x_lo);
}

}  // namespace vmunet
