// The Synapse metrics: the distance transform and HD95 against brute force over every voxel pair
// on random 3D masks, medpy's surface and percentile conventions on hand cases, and TransUNet's
// per-case edge cases and means.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/error.h"
#include "metrics/distance_transform.h"
#include "metrics/hd95.h"
#include "metrics/volume_metrics.h"

namespace vmunet {
namespace {

struct Voxel {
  int64_t z, y, x;
};

std::vector<Voxel> voxels_of(const std::vector<uint8_t>& m, const Grid3& g) {
  std::vector<Voxel> out;
  for (int64_t z = 0, i = 0; z < g.depth; ++z)
    for (int64_t y = 0; y < g.height; ++y)
      for (int64_t x = 0; x < g.width; ++x, ++i)
        if (m[i]) out.push_back({z, y, x});
  return out;
}

double squared(const Voxel& a, const Voxel& b) {
  const double dz = double(a.z - b.z), dy = double(a.y - b.y), dx = double(a.x - b.x);
  return dz * dz + dy * dy + dx * dx;
}

// Random blobs: each voxel on with probability `density`, then (optionally) grown by one step
// along x so masks have interiors and faces, not only isolated voxels.
std::vector<uint8_t> random_mask(const Grid3& g, double density, std::mt19937& rng, bool grow) {
  std::bernoulli_distribution on(density);
  std::vector<uint8_t> m(g.voxels());
  for (auto& v : m) v = on(rng);
  if (grow) {
    auto grown = m;
    for (int64_t i = 0; i < g.voxels(); ++i)
      if (m[i] && (i % g.width) + 1 < g.width) grown[i + 1] = 1;
    m = grown;
  }
  return m;
}

// medpy's border: a voxel of the mask is on it unless its six neighbours all exist and are in
// the mask; written against a zero-padded copy, independently of surface_voxels.
std::vector<uint8_t> brute_surface(const std::vector<uint8_t>& m, const Grid3& g) {
  const Grid3 p{g.depth + 2, g.height + 2, g.width + 2};
  std::vector<uint8_t> padded(p.voxels(), 0);
  auto at = [&](int64_t z, int64_t y, int64_t x) -> uint8_t& {
    return padded[(z * p.height + y) * p.width + x];
  };
  for (const auto& v : voxels_of(m, g)) at(v.z + 1, v.y + 1, v.x + 1) = 1;
  std::vector<uint8_t> s(g.voxels(), 0);
  for (const auto& v : voxels_of(m, g)) {
    const int64_t z = v.z + 1, y = v.y + 1, x = v.x + 1;
    const bool interior = at(z - 1, y, x) && at(z + 1, y, x) && at(z, y - 1, x) &&
                          at(z, y + 1, x) && at(z, y, x - 1) && at(z, y, x + 1);
    s[(v.z * g.height + v.y) * g.width + v.x] = !interior;
  }
  return s;
}

// HD95 by definition: all surface-voxel pairs, both directions pooled, sorted, and the 95th
// percentile interpolated at rank 0.95·(n − 1) with exact integer arithmetic.
double brute_hd95(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const Grid3& g) {
  const auto sa = voxels_of(brute_surface(a, g), g), sb = voxels_of(brute_surface(b, g), g);
  std::vector<double> d;
  auto nearest = [](const Voxel& v, const std::vector<Voxel>& others) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& o : others) best = std::min(best, squared(v, o));
    return std::sqrt(best);
  };
  for (const auto& v : sa) d.push_back(nearest(v, sb));
  for (const auto& v : sb) d.push_back(nearest(v, sa));
  std::sort(d.begin(), d.end());
  const int64_t n = static_cast<int64_t>(d.size()), lo = 95 * (n - 1) / 100;
  const double frac = static_cast<double>(95 * (n - 1) % 100) / 100.0;
  return lo + 1 < n ? d[lo] + frac * (d[lo + 1] - d[lo]) : d[lo];
}

TEST(DistanceTransform, MatchesBruteForceOnRandom3DMasks) {
  std::mt19937 rng(1);
  const std::vector<Grid3> grids{{5, 7, 6}, {1, 9, 4}, {8, 1, 1}, {6, 6, 6}, {3, 11, 2}};
  for (const auto& g : grids) {
    for (double density : {0.02, 0.2, 0.7}) {
      const auto sites = random_mask(g, density, rng, false);
      const auto got = squared_distance_transform(sites, g);
      const auto site_list = voxels_of(sites, g);
      for (int64_t z = 0, i = 0; z < g.depth; ++z)
        for (int64_t y = 0; y < g.height; ++y)
          for (int64_t x = 0; x < g.width; ++x, ++i) {
            double best = std::numeric_limits<double>::infinity();
            for (const auto& s : site_list) best = std::min(best, squared({z, y, x}, s));
            ASSERT_EQ(got[i], best)
                << "grid " << g.depth << "x" << g.height << "x" << g.width << " density " << density
                << " voxel " << z << "," << y << "," << x;
          }
    }
  }
}

TEST(DistanceTransform, SingleSiteAndNoSite) {
  const Grid3 g{4, 5, 6};
  std::vector<uint8_t> sites(g.voxels(), 0);
  const auto none = squared_distance_transform(sites, g);
  EXPECT_TRUE(std::all_of(none.begin(), none.end(), [](double v) { return std::isinf(v); }));
  sites[(3 * 5 + 0) * 6 + 5] = 1;  // (3, 0, 5)
  const auto one = squared_distance_transform(sites, g);
  EXPECT_EQ(one[0], 9.0 + 0.0 + 25.0);                // from (0, 0, 0)
  EXPECT_EQ(one[(1 * 5 + 4) * 6 + 2], 4.0 + 16 + 9);  // from (1, 4, 2)
  EXPECT_THROW(squared_distance_transform(std::vector<uint8_t>(7), g), Error);
}

TEST(SurfaceVoxels, OutsideTheGridCountsAsBackground) {
  // A full 3×3×3 grid: only the centre keeps all six neighbours.
  const Grid3 cube{3, 3, 3};
  const auto s = surface_voxels(std::vector<uint8_t>(27, 1), cube);
  EXPECT_EQ(std::count(s.begin(), s.end(), 1), 26);
  EXPECT_EQ(s[13], 0);
  // One slice thick: every voxel lacks its z neighbours, so all are surface.
  const auto flat = surface_voxels(std::vector<uint8_t>(9, 1), Grid3{1, 3, 3});
  EXPECT_EQ(std::count(flat.begin(), flat.end(), 1), 9);
  // A 3×3×3 cube inside a 5×5×5 grid: the same 26.
  const Grid3 g{5, 5, 5};
  std::vector<uint8_t> m(g.voxels(), 0);
  for (int z = 1; z < 4; ++z)
    for (int y = 1; y < 4; ++y)
      for (int x = 1; x < 4; ++x) m[(z * 5 + y) * 5 + x] = 1;
  const auto inner = surface_voxels(m, g);
  EXPECT_EQ(std::count(inner.begin(), inner.end(), 1), 26);
  EXPECT_EQ(inner[(2 * 5 + 2) * 5 + 2], 0);
}

TEST(Hd95, HandWorkedCases) {
  const Grid3 g{1, 4, 5};
  std::vector<uint8_t> a(g.voxels(), 0), b(g.voxels(), 0);
  a[0] = 1;          // (0, 0, 0)
  b[3 * 5 + 4] = 1;  // (0, 3, 4): distance 5 both ways
  EXPECT_DOUBLE_EQ(hd95(a, b, g), 5.0);
  // a = {x 0}, b = {x 1, x 3} on one row: a→b {1}, b→a {1, 3}; pooled [1, 1, 3], rank
  // 0.95·2 = 1.9 → 1 + 0.9·(3 − 1) = 2.8.
  std::fill(b.begin(), b.end(), 0);
  b[1] = b[3] = 1;
  EXPECT_NEAR(hd95(a, b, g), 2.8, 1e-12);
  EXPECT_NEAR(hd95(b, a, g), 2.8, 1e-12);
  EXPECT_EQ(hd95(b, b, g), 0.0);
}

TEST(Hd95, MatchesBruteForceOnRandom3DMasks) {
  std::mt19937 rng(2);
  const std::vector<Grid3> grids{{6, 7, 8}, {4, 9, 5}, {1, 12, 10}, {7, 5, 3}};
  int compared = 0;
  for (const auto& g : grids) {
    for (double da : {0.05, 0.3, 0.6}) {
      for (double db : {0.02, 0.25, 0.5}) {
        const auto a = random_mask(g, da, rng, true), b = random_mask(g, db, rng, true);
        if (voxels_of(a, g).empty() || voxels_of(b, g).empty()) continue;
        ASSERT_EQ(surface_voxels(a, g), brute_surface(a, g));
        ASSERT_NEAR(hd95(a, b, g), brute_hd95(a, b, g), 1e-12)
            << "grid " << g.depth << "x" << g.height << "x" << g.width << " densities " << da
            << ", " << db;
        ++compared;
      }
    }
  }
  EXPECT_GE(compared, 30);
}

TEST(Hd95, RefusesEmptyMasks) {
  const Grid3 g{2, 2, 2};
  std::vector<uint8_t> empty(8, 0), one(8, 0);
  one[5] = 1;
  EXPECT_THROW(hd95(empty, one, g), Error);
  EXPECT_THROW(hd95(one, empty, g), Error);
}

TEST(Percentile, NumpyLinearInterpolation) {
  std::vector<double> v{4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 95), 3.85);  // rank 2.85
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4.0);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  std::vector<double> single{7.5};
  EXPECT_EQ(percentile(single, 95), 7.5);
  std::vector<double> none;
  EXPECT_THROW(percentile(none, 95), Error);
}

TEST(VolumeMetrics, DiceOnHandCases) {
  const std::vector<uint8_t> a{1, 1, 1, 0, 0}, b{0, 0, 1, 1, 0};
  EXPECT_DOUBLE_EQ(dice_coefficient(a, b), 2.0 * 1 / (3 + 2));
  EXPECT_DOUBLE_EQ(dice_coefficient(a, a), 1.0);
  EXPECT_EQ(dice_coefficient({0, 0}, {0, 0}), 0.0);
}

TEST(VolumeMetrics, TransUNetEdgeCases) {
  const Grid3 g{1, 1, 4};
  const std::vector<uint8_t> empty{0, 0, 0, 0}, left{1, 1, 0, 0}, right{0, 0, 1, 1};
  const auto both = score_organ(left, right, g);  // surfaces: all four voxels
  EXPECT_DOUBLE_EQ(both.dice, 0.0);
  // left→right {2, 1}, right→left {1, 2}: pooled [1, 1, 2, 2], rank 2.85 → 2.
  EXPECT_DOUBLE_EQ(both.hd95, 2.0);
  const auto false_positive = score_organ(left, empty, g);  // predicted, absent from label
  EXPECT_EQ(false_positive.dice, 1.0);
  EXPECT_EQ(false_positive.hd95, 0.0);
  const auto missed = score_organ(empty, right, g);
  EXPECT_EQ(missed.dice, 0.0);
  EXPECT_EQ(missed.hd95, 0.0);
  const auto absent = score_organ(empty, empty, g);
  EXPECT_EQ(absent.dice, 0.0);
  EXPECT_EQ(absent.hd95, 0.0);
}

TEST(VolumeMetrics, ScoresEachOrganOfClassIdVolumes) {
  const Grid3 g{1, 2, 3};
  // label: organ 1 at (0,0), (0,1); organ 2 at (1,2); organ 3 absent.
  const std::vector<uint8_t> label{1, 1, 0, 0, 0, 2};
  const std::vector<uint8_t> pred{1, 0, 0, 3, 0, 0};
  const auto s = score_volume(pred, label, g, 4);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_DOUBLE_EQ(s[0].dice, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s[0].hd95, 0.9);  // distances [0, 0, 1] → rank 1.9 → 0.9
  EXPECT_EQ(s[1].dice, 0.0);         // organ 2 missed
  EXPECT_EQ(s[2].dice, 1.0);         // organ 3 predicted but absent
  EXPECT_EQ(s[2].hd95, 0.0);
  EXPECT_THROW(score_volume(pred, std::vector<uint8_t>(5), g, 4), Error);
}

TEST(VolumeMetrics, MeansOverVolumesThenOrgans) {
  const std::vector<std::vector<OrganScore>> volumes{{{0.8, 4.0}, {0.0, 0.0}},
                                                     {{0.6, 2.0}, {1.0, 0.0}}};
  const auto s = summarize_volumes(volumes);
  ASSERT_EQ(s.per_organ.size(), 2u);
  EXPECT_DOUBLE_EQ(s.per_organ[0].dice, 0.7);
  EXPECT_DOUBLE_EQ(s.per_organ[0].hd95, 3.0);
  EXPECT_DOUBLE_EQ(s.per_organ[1].dice, 0.5);
  EXPECT_DOUBLE_EQ(s.per_organ[1].hd95, 0.0);
  EXPECT_DOUBLE_EQ(s.mean.dice, 0.6);
  EXPECT_DOUBLE_EQ(s.mean.hd95, 1.5);
  EXPECT_THROW(summarize_volumes({}), Error);
  EXPECT_THROW(summarize_volumes({{{1, 1}}, {{1, 1}, {1, 1}}}), Error);
}

}  // namespace
}  // namespace vmunet
