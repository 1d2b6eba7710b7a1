// Synthetic datasets: deterministic for a seed, different across seeds, sane class balance, and
// not solvable by thresholding brightness (so the quickstart's DSC means the network learned).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/rng.h"
#include "storage/synthetic.h"
#include "test_storage_helpers.h"

namespace vmunet {
namespace {

SyntheticOptions options(Task task, int64_t train, int64_t test, uint64_t seed) {
  SyntheticOptions o;
  o.task = task;
  o.train = train;
  o.test = test;
  o.size = 64;
  o.seed = seed;
  return o;
}

double fraction_of(const std::vector<uint8_t>& values, uint8_t value) {
  return static_cast<double>(std::count(values.begin(), values.end(), value)) /
         static_cast<double>(values.size());
}

// Every draw is defined on top of mt19937_64's standard bit stream, so seeds travel across
// standard libraries; the draws themselves must be what they claim.
TEST(Rng, DrawsAreDefinedOnTheStandardBitStreamAndHaveTheirDistributions) {
  std::mt19937_64 reference(1234);
  Rng rng(1234);
  EXPECT_EQ(rng.uniform(), static_cast<double>(reference() >> 11) / 9007199254740992.0);
  double sum = 0, squares = 0;
  std::vector<int> counts(7, 0);
  constexpr int kDraws = 70000;
  for (int i = 0; i < kDraws; ++i) {
    const double x = rng.normal();
    sum += x;
    squares += x * x;
    ++counts[static_cast<size_t>(rng.below(7))];
  }
  EXPECT_NEAR(sum / kDraws, 0.0, 0.02);
  EXPECT_NEAR(squares / kDraws, 1.0, 0.03);
  for (int count : counts) EXPECT_NEAR(count, kDraws / 7, 400);
  std::vector<int64_t> order = rng.permutation(50);
  std::sort(order.begin(), order.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
}

TEST(Synthetic, SameSeedGivesIdenticalFileBytes) {
  test::TempDir dir;
  for (Task task : {Task::binary, Task::multiclass}) {
    prepare_synthetic(options(task, 20, 20, 7), dir / "a.h5");
    prepare_synthetic(options(task, 20, 20, 7), dir / "b.h5");
    const auto a = test::read_bytes(dir / "a.h5");
    EXPECT_GT(a.size(), 20u * 64 * 64 / 4) << task_name(task);
    EXPECT_EQ(a, test::read_bytes(dir / "b.h5")) << task_name(task);
  }
}

TEST(Synthetic, DifferentSeedsGiveDifferentImagesAndMasks) {
  for (Task task : {Task::binary, Task::multiclass}) {
    const Dataset a = make_synthetic(options(task, 8, 8, 1));
    const Dataset b = make_synthetic(options(task, 8, 8, 2));
    EXPECT_NE(a.train.images, b.train.images) << task_name(task);
    EXPECT_NE(a.train.masks, b.train.masks) << task_name(task);
  }
}

TEST(Synthetic, ASampleDependsOnlyOnSeedSplitAndIndex) {
  const Dataset small = make_synthetic(options(Task::binary, 5, 3, 11));
  const Dataset large = make_synthetic(options(Task::binary, 9, 6, 11));
  const size_t image = 64 * 64 * 3;
  EXPECT_TRUE(
      std::equal(small.train.images.begin(), small.train.images.end(), large.train.images.begin()));
  EXPECT_TRUE(
      std::equal(small.test.masks.begin(), small.test.masks.end(), large.test.masks.begin()));
  // ... and train and test are different draws.
  EXPECT_FALSE(std::equal(small.train.images.begin(), small.train.images.begin() + image,
                          small.test.images.begin()));
}

TEST(Synthetic, BinaryLesionsCoverAPlausibleShareOfEveryImage) {
  const Dataset data = make_synthetic(options(Task::binary, 200, 10, 3));
  EXPECT_EQ(data.meta.class_names, binary_class_names());
  EXPECT_EQ(data.train.channels, 3);
  const double lesion = fraction_of(data.train.masks, 1);
  EXPECT_GT(lesion, 0.15);  // ISIC 2016 sample: 0.29
  EXPECT_LT(lesion, 0.35);
  const int64_t plane = 64 * 64;
  for (int64_t i = 0; i < data.train.count; ++i) {
    const auto first = data.train.masks.begin() + i * plane;
    const auto lesion_pixels = std::count(first, first + plane, 1);
    EXPECT_GT(lesion_pixels, plane / 50) << "image " << i;
    EXPECT_LT(lesion_pixels, plane * 3 / 4) << "image " << i;
  }
}

// The best single brightness threshold, chosen with hindsight on the labels, must fall short
// of the quickstart's bar of DSC 0.85, while darkness still carries some signal.
TEST(Synthetic, BinaryIsNotSolvedByABrightnessThreshold) {
  const Dataset data = make_synthetic(options(Task::binary, 1, 200, 5));
  const std::vector<uint8_t>& masks = data.test.masks;
  double best = 0;
  for (int threshold = 0; threshold < 256; threshold += 2) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t p = 0; p < masks.size(); ++p) {
      const uint8_t* rgb = &data.test.images[3 * p];
      const bool dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < threshold;
      tp += dark && masks[p];
      fp += dark && !masks[p];
      fn += !dark && masks[p];
    }
    best = std::max(best, 2 * tp / (2 * tp + fp + fn));
  }
  EXPECT_LT(best, 0.85);
  EXPECT_GT(best, 0.5);
}

TEST(Synthetic, MulticlassHasEveryOrganAndVolumesOfConsecutiveSlices) {
  SyntheticOptions o = options(Task::multiclass, 48, 40, 9);
  o.slices_per_volume = 16;
  const Dataset data = make_synthetic(o);
  EXPECT_EQ(data.meta.class_names, synapse_class_names());
  EXPECT_EQ(data.train.channels, 1);
  EXPECT_EQ(data.train.names[17], "ct001_slice001");
  for (uint8_t organ = 1; organ <= 8; ++organ)
    EXPECT_GT(fraction_of(data.train.masks, organ), 0.0005) << "organ " << int(organ);
  const double background = fraction_of(data.train.masks, 0);
  EXPECT_GT(background, 0.75);
  EXPECT_LT(background, 0.97);

  EXPECT_EQ(data.test.count, 0);
  ASSERT_EQ(data.volumes.size(), 3u);
  EXPECT_EQ(data.volumes[0].name, "ct000");
  EXPECT_EQ(data.volumes[0].depth, 16);
  EXPECT_EQ(data.volumes[2].depth, 8);
  for (const Volume& volume : data.volumes) {
    const std::set<uint8_t> labels(volume.label.begin(), volume.label.end());
    EXPECT_TRUE(labels.count(5)) << volume.name << " has no liver";
    EXPECT_TRUE(labels.count(1)) << volume.name << " has no aorta";
    const auto [low, high] = std::minmax_element(volume.image.begin(), volume.image.end());
    EXPECT_GE(*low, 0.0f);
    EXPECT_LE(*high, 1.0f);
  }
  // Consecutive slices of one patient are alike; slices of different patients less so.
  const int64_t plane = 64 * 64;
  auto differing = [&](int64_t a, int64_t b) {
    int64_t count = 0;
    for (int64_t p = 0; p < plane; ++p)
      count += data.train.masks[a * plane + p] != data.train.masks[b * plane + p];
    return count;
  };
  EXPECT_LT(differing(5, 6), differing(5, 16 + 12));
}

TEST(Synthetic, RoundTripsThroughTheValidatingReader) {
  test::TempDir dir;
  prepare_synthetic(options(Task::multiclass, 16, 16, 1), dir / "ct.h5");
  const Dataset data = read_dataset(dir / "ct.h5");
  EXPECT_EQ(data.meta.name, "synthetic-multiclass");
  EXPECT_EQ(data.meta.resolution, 64);
  EXPECT_NE(data.meta.source.find("--seed 1"), std::string::npos);
  EXPECT_EQ(data.volumes.size(), 1u);
}

TEST(Synthetic, SizeMustBeAMultipleOf32) {
  SyntheticOptions o = options(Task::binary, 4, 4, 1);
  o.size = 50;
  try {
    make_synthetic(o);
    FAIL() << "size 50 accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("--size 50 must be a multiple of 32"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace vmunet
