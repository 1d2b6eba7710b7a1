// `prepare isic` on the 200 real ISIC 2016 pairs of examples/isic2016-224, on a damaged copy, on
// the VM-UNet folder layout, and through the vmunet binary.
#include <gtest/gtest.h>

#ifdef VMUNET_HAVE_IMPORTERS
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/isic_pairs.h"
#include "storage/prepare_isic.h"
#include "test_storage_helpers.h"

namespace fs = std::filesystem;

namespace vmunet {
namespace {

using test::error_of;

const std::string kIsic = std::string(VMUNET_EXAMPLES) + "/isic2016-224";

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

TEST(IsicPairs, PairsTheTwoHundredExamplesByStemWhateverTheSuffixCase) {
  const Pairing pairing = pair_by_stem(kIsic + "/images", kIsic + "/masks", "_segmentation");
  EXPECT_TRUE(pairing.problems.empty());
  ASSERT_EQ(pairing.pairs.size(), 200u);
  EXPECT_EQ(pairing.pairs.front().stem, "ISIC_1000");
  EXPECT_EQ(pairing.pairs.back().stem, "ISIC_1199");
  for (const ImagePair& pair : pairing.pairs) {
    EXPECT_EQ(fs::path(pair.image).filename().string(), pair.stem + ".jpg");
    EXPECT_EQ(fs::path(pair.mask).filename().string(), pair.stem + "_Segmentation.png");
  }
}

TEST(IsicPairs, ReportsUnpairedAndDuplicateFilesAndIgnoresOthers) {
  test::TempDir dir;
  for (const char* name : {"images/a.jpg", "images/b.JPG", "images/b.png", "images/d.jpeg",
                           "images/notes.txt", "masks/a_segmentation.png",
                           "masks/B_Segmentation.png", "masks/c_SEGMENTATION.png", "masks/d.png"})
    touch(dir.path() / name);
  const Pairing pairing = pair_by_stem(dir / "images", dir / "masks", "_segmentation");
  ASSERT_EQ(pairing.pairs.size(), 3u);
  EXPECT_EQ(pairing.pairs[0].stem, "a");
  EXPECT_EQ(fs::path(pairing.pairs[1].image).filename(), "b.JPG");
  EXPECT_EQ(fs::path(pairing.pairs[2].mask).filename(), "d.png");  // same stem, no suffix
  ASSERT_EQ(pairing.problems.size(), 2u);
  EXPECT_NE(pairing.problems[0].find("b.JPG and " + (dir / "images/b.png") + " share a stem"),
            std::string::npos)
      << pairing.problems[0];
  EXPECT_NE(pairing.problems[1].find("c_SEGMENTATION.png has no image c.* in"), std::string::npos)
      << pairing.problems[1];
  EXPECT_NE(error_of([&] {
              pair_by_stem(dir / "none", dir / "masks", "");
            }).find("images folder " + (dir / "none") + " does not exist"),
            std::string::npos);
}

#ifdef VMUNET_HAVE_IMPORTERS

double mean_lesion_fraction(const ImageSet& set) {
  return static_cast<double>(std::count(set.masks.begin(), set.masks.end(), 1)) /
         static_cast<double>(set.masks.size());
}

IsicOptions example_options(const std::string& out, uint64_t seed) {
  IsicOptions options;
  options.images = kIsic + "/images";
  options.masks = kIsic + "/masks";
  options.seed = seed;
  options.out = out;
  return options;
}

TEST(PrepareIsic, WritesTheSplitAndEverySizeOfTheRealExamples) {
  test::TempDir dir;
  IsicOptions options = example_options(dir / "isic_{size}.h5", 5);
  options.sizes = {224, 64};
  const PrepareSummary summary = prepare_isic(options);
  EXPECT_EQ(summary.files, (std::vector<std::string>{dir / "isic_224.h5", dir / "isic_64.h5"}));
  EXPECT_EQ(summary.train, 140);
  EXPECT_EQ(summary.test, 60);
  EXPECT_TRUE(summary.skipped.empty());

  const Dataset full = read_dataset(dir / "isic_224.h5");
  EXPECT_EQ(full.meta.name, "isic");
  EXPECT_EQ(full.meta.resolution, 224);
  EXPECT_EQ(full.train.count, 140);
  EXPECT_EQ(full.test.count, 60);
  std::set<std::string> stems(full.train.names.begin(), full.train.names.end());
  stems.insert(full.test.names.begin(), full.test.names.end());
  EXPECT_EQ(stems.size(), 200u);  // every pair once, in exactly one split
  EXPECT_TRUE(std::is_sorted(full.train.names.begin(), full.train.names.end()));

  // Masks are exactly {0, 1}, both present; the lesion fraction matches the README's 0.29.
  std::set<uint8_t> values(full.train.masks.begin(), full.train.masks.end());
  values.insert(full.test.masks.begin(), full.test.masks.end());
  EXPECT_EQ(values, (std::set<uint8_t>{0, 1}));
  const double lesion =
      (mean_lesion_fraction(full.train) * 140 + mean_lesion_fraction(full.test) * 60) / 200;
  EXPECT_NEAR(lesion, 0.29, 0.015);

  // At the source size nothing is resampled: pixels equal the decoded JPEG (as RGB), masks the
  // PNG binarised at >= 128, paired by stem.
  const std::string stem = full.test.names[7];
  cv::Mat bgr = cv::imread(kIsic + "/images/" + stem + ".jpg", cv::IMREAD_COLOR);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const cv::Mat mask =
      cv::imread(kIsic + "/masks/" + stem + "_Segmentation.png", cv::IMREAD_GRAYSCALE);
  const int64_t plane = 224 * 224;
  EXPECT_TRUE(std::equal(rgb.datastart, rgb.dataend, full.test.images.begin() + 7 * plane * 3));
  for (int64_t p = 0; p < plane; ++p)
    ASSERT_EQ(full.test.masks[7 * plane + p], mask.data[p] >= 128 ? 1 : 0) << "pixel " << p;

  // Normalisation constants are the per-split statistics of the stored pixels.
  PixelStatistics train_stats;
  train_stats.add(full.train.images.data(), full.train.images.size());
  EXPECT_NEAR(full.meta.train_norm.mean, train_stats.result().mean, 1e-9);
  EXPECT_NEAR(full.meta.train_norm.std, train_stats.result().std, 1e-9);
  EXPECT_GT(full.meta.train_norm.mean, 100);
  EXPECT_GT(full.meta.train_norm.std, 10);
  EXPECT_NE(full.meta.train_norm.mean, full.meta.test_norm.mean);

  const Dataset small = read_dataset(dir / "isic_64.h5");
  EXPECT_EQ(small.meta.resolution, 64);
  EXPECT_EQ(small.train.names, full.train.names);
  EXPECT_NEAR(mean_lesion_fraction(small.train), mean_lesion_fraction(full.train), 0.01);
}

TEST(PrepareIsic, TheSplitIsFixedBySeed) {
  test::TempDir dir;
  IsicOptions options = example_options(dir / "a.h5", 1);
  options.sizes = {32};
  prepare_isic(options);
  options.out = dir / "b.h5";
  prepare_isic(options);
  options.out = dir / "c.h5";
  options.seed = 2;
  options.split = 0.5;
  prepare_isic(options);
  const Dataset a = read_dataset(dir / "a.h5"), b = read_dataset(dir / "b.h5"),
                c = read_dataset(dir / "c.h5");
  EXPECT_EQ(a.train.names, b.train.names);
  EXPECT_EQ(c.train.count, 100);
  EXPECT_NE(std::vector<std::string>(a.train.names.begin(), a.train.names.begin() + 100),
            c.train.names);
}

// A copy of the first `count` example pairs in dir/images and dir/masks.
void copy_examples(const test::TempDir& dir, int count) {
  fs::create_directories(dir.path() / "images");
  fs::create_directories(dir.path() / "masks");
  for (int i = 0; i < count; ++i) {
    const std::string stem = "ISIC_" + std::to_string(1000 + i);
    fs::copy_file(kIsic + "/images/" + stem + ".jpg", dir / ("images/" + stem + ".jpg"));
    fs::copy_file(kIsic + "/masks/" + stem + "_Segmentation.png",
                  dir / ("masks/" + stem + "_Segmentation.png"));
  }
}

TEST(PrepareIsic, CorruptJpegAndUnpairedMaskAreSkippedOrFailUnderStrict) {
  test::TempDir dir;
  copy_examples(dir, 20);
  test::write_bytes(dir / "images/ISIC_1003.jpg", {0xFF, 0xD8, 'n', 'o', 't', ' ', 'j', 'p', 'g'});
  cv::imwrite(dir / "masks/ISIC_9999_Segmentation.png", cv::Mat(224, 224, CV_8U, cv::Scalar(255)));

  IsicOptions options;
  options.images = dir / "images";
  options.masks = dir / "masks";
  options.sizes = {64};
  options.out = dir / "out.h5";
  const PrepareSummary summary = prepare_isic(options);
  ASSERT_EQ(summary.skipped.size(), 2u);
  EXPECT_NE(summary.skipped[0].find("ISIC_9999_Segmentation.png has no image"), std::string::npos);
  EXPECT_NE(
      summary.skipped[1].find("ISIC_1003.jpg: JPEG file is truncated (no end-of-image marker)"),
      std::string::npos)
      << summary.skipped[1];
  EXPECT_EQ(summary.train + summary.test, 19);
  const Dataset data = read_dataset(dir / "out.h5");
  EXPECT_EQ(data.train.count + data.test.count, 19);

  options.strict = true;
  options.out = dir / "strict.h5";
  EXPECT_NE(error_of([&] { prepare_isic(options); })
                .find("ISIC_9999_Segmentation.png has no image ISIC_9999.* in " + (dir / "images") +
                      " (1 pairing problems in all); fix it or drop --strict"),
            std::string::npos);
  fs::remove(dir / "masks/ISIC_9999_Segmentation.png");
  EXPECT_NE(error_of([&] { prepare_isic(options); })
                .find("ISIC_1003.jpg: JPEG file is truncated (no end-of-image marker); fix it or "
                      "drop --strict"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "strict.h5"));
  EXPECT_FALSE(fs::exists(dir / "strict.h5.partial"));
}

TEST(PrepareIsic, ReadsTheVmunetRootLayout) {
  test::TempDir dir;
  for (const auto& [split, first, count] : {std::tuple{"train", 0, 6}, {"val", 6, 3}}) {
    fs::create_directories(dir.path() / split / "images");
    fs::create_directories(dir.path() / split / "masks");
    for (int i = first; i < first + count; ++i) {
      const std::string stem = "ISIC_" + std::to_string(1000 + i);
      fs::copy_file(kIsic + "/images/" + stem + ".jpg",
                    dir.path() / split / "images" / (stem + ".jpg"));
      fs::copy_file(kIsic + "/masks/" + stem + "_Segmentation.png",
                    dir.path() / split / "masks" / (stem + "_segmentation.png"));
    }
  }
  IsicOptions options;
  options.root = dir.path().string();
  options.sizes = {32};
  options.out = dir / "root.h5";
  const PrepareSummary summary = prepare_isic(options);
  EXPECT_EQ(summary.train, 6);
  EXPECT_EQ(summary.test, 3);
  const Dataset data = read_dataset(dir / "root.h5");
  EXPECT_EQ(data.test.names, (std::vector<std::string>{"ISIC_1006", "ISIC_1007", "ISIC_1008"}));
}

TEST(PrepareIsic, BadOptionsAreOneClearLine) {
  IsicOptions options = example_options("/tmp/unused.h5", 1);
  options.root = "/somewhere";
  EXPECT_NE(
      error_of([&] { prepare_isic(options); }).find("give either --images and --masks, or --root"),
      std::string::npos);
  options.root.clear();
  options.split = 1.5;
  EXPECT_NE(
      error_of([&] { prepare_isic(options); }).find("--split 1.500000 must be between 0 and 1"),
      std::string::npos);
  options.split = 0.7;
  options.sizes = {256, 512};
  EXPECT_NE(error_of([&] {
              prepare_isic(options);
            }).find("several --size values need \"{size}\" in --out"),
            std::string::npos);
  options.sizes = {100};
  EXPECT_NE(error_of([&] { prepare_isic(options); }).find("--size 100 must be a multiple of 32"),
            std::string::npos);
}

struct CommandResult {
  int status;
  std::string out, err;
};

CommandResult run_vmunet(const std::string& arguments, const test::TempDir& dir) {
  const std::string err_path = dir / "stderr.txt";
  const std::string command = std::string(VMUNET_BINARY) + " " + arguments + " 2>" + err_path;
  CommandResult result{-1, {}, {}};
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
  result.status = WEXITSTATUS(pclose(pipe));
  const std::vector<uint8_t> err = test::read_bytes(err_path);
  result.err.assign(err.begin(), err.end());
  return result;
}

TEST(PrepareIsicCli, WritesTheFileAndReportsFailuresInOneLine) {
  ASSERT_TRUE(fs::exists(VMUNET_BINARY)) << "build the vmunet target first";
  test::TempDir dir;
  const CommandResult ok =
      run_vmunet("prepare isic --images " + kIsic + "/images --masks " + kIsic +
                     "/masks --size 32 --seed 3 --out " + (dir / "cli.h5"),
                 dir);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.out.find("wrote " + (dir / "cli.h5") + ": 140 train, 60 test images"),
            std::string::npos)
      << ok.out;
  EXPECT_EQ(read_dataset_meta(dir / "cli.h5").resolution, 32);

  const CommandResult missing =
      run_vmunet("prepare isic --images " + (dir / "nowhere") + " --masks " + (dir / "nowhere") +
                     " --out " + (dir / "x.h5"),
                 dir);
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(missing.err, "vmunet: error: images folder " + (dir / "nowhere") + " does not exist\n");

  copy_examples(dir, 4);
  test::write_bytes(dir / "images/ISIC_1001.jpg", {'b', 'a', 'd'});
  const CommandResult strict =
      run_vmunet("prepare isic --images " + (dir / "images") + " --masks " + (dir / "masks") +
                     " --strict --out " + (dir / "y.h5"),
                 dir);
  EXPECT_EQ(strict.status, 1);
  EXPECT_EQ(std::count(strict.err.begin(), strict.err.end(), '\n'), 1) << strict.err;
  EXPECT_NE(strict.err.find("ISIC_1001.jpg is unreadable"), std::string::npos) << strict.err;
  EXPECT_FALSE(fs::exists(dir / "y.h5"));
}

#else

TEST(PrepareIsic, NeedsOpenCv) { GTEST_SKIP() << "built without OpenCV and libzip"; }

#endif

}  // namespace
}  // namespace vmunet
