// `prepare synapse` end to end on a tiny TransUNet-layout tree written here: 2 training cases of
// 2 slices (.npz, stored and deflated, float32 and uint8 labels) and 1 test volume (.npy.h5).
#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <cmath>
#include <set>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/prepare_synapse.h"
#include "test_storage_helpers.h"

namespace fs = std::filesystem;

namespace vmunet {
namespace {

using test::error_of;

#ifdef VMUNET_HAVE_IMPORTERS

constexpr int kSide = 64;
const std::vector<std::string> kSlices{"case0005_slice000", "case0005_slice001",
                                       "case0006_slice000", "case0006_slice001"};

// Slice s: image (x + 2y + 7s) % 101 / 100, label a blocky organ map with every value 0-8.
std::vector<float> slice_image(int s) {
  std::vector<float> image(kSide * kSide);
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x)
      image[y * kSide + x] = static_cast<float>((x + 2 * y + 7 * s) % 101) / 100.0f;
  return image;
}

std::vector<uint8_t> slice_label(int s) {
  std::vector<uint8_t> label(kSide * kSide);
  for (int y = 0; y < kSide; ++y)
    for (int x = 0; x < kSide; ++x)
      label[y * kSide + x] = static_cast<uint8_t>((x / 8 + y / 16 + s) % 9);
  return label;
}

std::string label_header(const std::string& descr) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (64, 64), }";
}

void write_slice(const fs::path& path, const std::vector<float>& image,
                 const std::vector<uint8_t>& label, bool float_label, bool deflate) {
  std::vector<uint8_t> label_bytes =
      float_label ? test::npy_bytes(1, label_header("<f4"),
                                    test::raw_bytes(std::vector<float>(label.begin(), label.end())))
                  : test::npy_bytes(1, label_header("|u1"), label);
  test::write_zip(
      path.string(),
      {{"image.npy", test::npy_float32(image, kSide, kSide)}, {"label.npy", label_bytes}}, deflate);
}

void write_volume(const fs::path& path, const std::vector<float>& image,
                  const std::vector<float>& label, hsize_t depth) {
  H5::H5File file(path.string(), H5F_ACC_TRUNC);
  const hsize_t dims[3] = {depth, kSide, kSide};
  file.createDataSet("image", H5::PredType::IEEE_F32LE, H5::DataSpace(3, dims))
      .write(image.data(), H5::PredType::NATIVE_FLOAT);
  file.createDataSet("label", H5::PredType::IEEE_F32LE, H5::DataSpace(3, dims))
      .write(label.data(), H5::PredType::NATIVE_FLOAT);
}

// The tiny tree; returns the test volume's image and label.
void build_tree(const fs::path& root, std::vector<float>& volume_image,
                std::vector<float>& volume_label) {
  fs::create_directories(root / "train_npz");
  fs::create_directories(root / "test_vol_h5");
  fs::create_directories(root / "lists/lists_Synapse");
  std::ofstream train(root / "lists/lists_Synapse/train.txt");
  for (size_t s = 0; s < kSlices.size(); ++s) {
    train << kSlices[s] << "\n";
    write_slice(root / "train_npz" / (kSlices[s] + ".npz"), slice_image(static_cast<int>(s)),
                slice_label(static_cast<int>(s)), s % 2 == 0, s < 2);
  }
  std::ofstream(root / "lists/lists_Synapse/test_vol.txt") << "case0001\n\n";
  for (int d = 0; d < 3; ++d) {
    const auto image = slice_image(10 + d);
    const auto label = slice_label(10 + d);
    volume_image.insert(volume_image.end(), image.begin(), image.end());
    volume_label.insert(volume_label.end(), label.begin(), label.end());
  }
  write_volume(root / "test_vol_h5/case0001.npy.h5", volume_image, volume_label, 3);
}

SynapseOptions options_for(const test::TempDir& dir, std::vector<int> sizes, std::string out) {
  SynapseOptions options;
  options.root = (dir.path() / "root").string();
  options.sizes = std::move(sizes);
  options.out = dir / out;
  return options;
}

TEST(PrepareSynapse, EndToEndOnATinyTree) {
  test::TempDir dir;
  std::vector<float> volume_image, volume_label;
  build_tree(dir.path() / "root", volume_image, volume_label);
  const PrepareSummary summary = prepare_synapse(options_for(dir, {64, 32}, "syn_{size}.h5"));
  EXPECT_EQ(summary.train, 4);
  EXPECT_EQ(summary.volumes, 1);
  EXPECT_TRUE(summary.skipped.empty());

  const Dataset full = read_dataset(dir / "syn_64.h5");
  EXPECT_EQ(full.meta.task, Task::multiclass);
  EXPECT_EQ(full.meta.class_names, synapse_class_names());
  EXPECT_EQ(full.train.names, kSlices);
  EXPECT_EQ(full.train.channels, 1);
  const int64_t plane = kSide * kSide;
  for (int s = 0; s < 4; ++s) {
    const auto image = slice_image(s);
    const auto label = slice_label(s);
    for (int64_t p = 0; p < plane; ++p) {
      ASSERT_EQ(full.train.images[s * plane + p], std::lround(image[p] * 255.0f)) << s << "," << p;
      ASSERT_EQ(full.train.masks[s * plane + p], label[p]) << s << "," << p;
    }
  }
  // The test volume is kept whole, at full resolution and in float.
  EXPECT_EQ(full.test.count, 0);
  ASSERT_EQ(full.volumes.size(), 1u);
  EXPECT_EQ(full.volumes[0].name, "case0001");
  EXPECT_EQ(full.volumes[0].depth, 3);
  EXPECT_EQ(full.volumes[0].image, volume_image);
  EXPECT_EQ(std::vector<float>(full.volumes[0].label.begin(), full.volumes[0].label.end()),
            volume_label);

  // At half size labels are sampled nearest (every other pixel), never blended.
  const Dataset half = read_dataset(dir / "syn_32.h5");
  EXPECT_EQ(half.meta.resolution, 32);
  for (int s = 0; s < 4; ++s)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        ASSERT_EQ(half.train.masks[s * 1024 + y * 32 + x],
                  full.train.masks[s * plane + 2 * y * kSide + 2 * x]);
  EXPECT_EQ(half.volumes[0].image, volume_image);
}

TEST(PrepareSynapse, MissingAndMalformedSlicesAreSkippedOrFailUnderStrict) {
  test::TempDir dir;
  std::vector<float> volume_image, volume_label;
  const fs::path root = dir.path() / "root";
  build_tree(root, volume_image, volume_label);
  std::ofstream(root / "lists/lists_Synapse/train.txt", std::ios::app) << "case0007_slice000\n"
                                                                       << "case0008_slice000\n"
                                                                       << "case0009_slice000\n";
  auto bad_label = slice_label(0);
  bad_label[70] = 9;
  write_slice(root / "train_npz/case0008_slice000.npz", slice_image(0), bad_label, false, true);
  auto bright = slice_image(0);
  bright[5] = 1.5f;
  write_slice(root / "train_npz/case0009_slice000.npz", bright, slice_label(0), true, false);

  const PrepareSummary summary = prepare_synapse(options_for(dir, {32}, "syn.h5"));
  EXPECT_EQ(summary.train, 4);
  ASSERT_EQ(summary.skipped.size(), 3u);
  EXPECT_NE(summary.skipped[0].find("case0007_slice000.npz is missing"), std::string::npos);
  EXPECT_NE(summary.skipped[1].find("case0008_slice000.npz:label holds 9.000000 at element 70, "
                                    "not a label 0-8"),
            std::string::npos)
      << summary.skipped[1];
  EXPECT_NE(summary.skipped[2].find("case0009_slice000.npz:image holds 1.500000, outside [0, 1]"),
            std::string::npos)
      << summary.skipped[2];

  SynapseOptions strict = options_for(dir, {32}, "strict.h5");
  strict.strict = true;
  EXPECT_NE(error_of([&] {
              prepare_synapse(strict);
            }).find("case0007_slice000.npz is missing; fix it or drop --strict"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "strict.h5"));
}

TEST(PrepareSynapse, AMissingListNamesTheLayout) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "root");
  EXPECT_NE(error_of([&] {
              prepare_synapse(options_for(dir, {224}, "x.h5"));
            }).find("lists/lists_Synapse/train.txt (expected the TransUNet layout"),
            std::string::npos);
}

#else

TEST(PrepareSynapse, NeedsLibzip) { GTEST_SKIP() << "built without OpenCV and libzip"; }

#endif

}  // namespace
}  // namespace vmunet
