// `vmunet evaluate`: hand-worked Dice/HD95 on 2D and 3D cases through the trainer's metric code,
// PNG folders (ISIC names, unpaired files listed), HDF5 volumes, the CSV, the database and the
// gallery.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "scoring/evaluate_segmentations.h"
#include "storage/case_volumes_h5.h"
#include "storage/results_db.h"
#include "tests/remove_tree.h"
#include "tests/run_binary.h"
#ifdef VMUNET_HAVE_IMPORTERS
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace vmunet {
namespace {
namespace fs = std::filesystem;

// A D×H×W grid with the box [z0,z1)×[y0,y1)×[x0,x1) set to `value`.
std::vector<uint8_t> box(const Grid3& g, int64_t z0, int64_t z1, int64_t y0, int64_t y1, int64_t x0,
                         int64_t x1, uint8_t value = 1, std::vector<uint8_t> v = {}) {
  if (v.empty()) v.assign(g.voxels(), 0);
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) v[(z * g.height + y) * g.width + x] = value;
  return v;
}

OrganScore score_one(const SegmentationCase& c, int classes = 2) {
  SegmentationCases cases;
  cases.cases.push_back(c);
  return evaluate_segmentations(cases, classes, {}).cases.at(0).per_class.at(0);
}

TEST(EvaluateScores, EdgeCasesOfThePaper) {
  const Grid3 g{3, 6, 6};
  const auto empty = std::vector<uint8_t>(g.voxels(), 0), some = box(g, 1, 2, 1, 3, 1, 3);
  const auto a = score_one({"empty-pred", g, empty, some});
  EXPECT_EQ(a.dice, 0.0);
  EXPECT_EQ(a.hd95, 0.0);
  const auto b = score_one({"empty-label", g, some, empty});
  EXPECT_EQ(b.dice, 1.0);  // predicted but absent from the reference: (1, 0)
  EXPECT_EQ(b.hd95, 0.0);
  const auto c = score_one({"both-empty", g, empty, empty});
  EXPECT_EQ(c.dice, 0.0);
  EXPECT_EQ(c.hd95, 0.0);
}

TEST(EvaluateScores, SingleVoxelsThreeApart) {
  const Grid3 g{2, 4, 8};
  const auto s = score_one({"voxels", g, box(g, 0, 1, 0, 1, 0, 1), box(g, 0, 1, 0, 1, 3, 4)});
  EXPECT_EQ(s.dice, 0.0);
  EXPECT_DOUBLE_EQ(s.hd95, 3.0);
}

// A 4×2×8 box touching both z faces, against the same box moved 2 voxels along x: every voxel is
// on the surface (height 2); per row the pooled distances are 2,1 (each way) and twelve 0s, so
// of 128 distances the top 16 are 2 and the 95th percentile (rank 120.65) is 2.
TEST(EvaluateScores, AnisotropicBoxesTouchingTheBorders) {
  const Grid3 g{4, 6, 16};
  const auto s = score_one({"boxes", g, box(g, 0, 4, 2, 4, 4, 12), box(g, 0, 4, 2, 4, 2, 10)});
  EXPECT_DOUBLE_EQ(s.dice, 0.75);  // 2·48 / (64 + 64)
  EXPECT_DOUBLE_EQ(s.hd95, 2.0);
}

// 2D: a 5×5 square on the image's corner against the 3×3 inside it. In-plane surfaces: the
// square's 16-pixel ring and the 3×3's 8-pixel ring; ring to ring the 8 inner pixels are 1 away,
// the outer ring's 12 edge pixels 1 and 4 corners √2: the 95th percentile of the 24 is √2.
TEST(EvaluateScores, PlanarMasksUseTheInPlaneSurface) {
  const Grid3 g{1, 7, 7, true};
  const auto s = score_one({"square", g, box(g, 0, 1, 1, 4, 1, 4), box(g, 0, 1, 0, 5, 0, 5)});
  EXPECT_DOUBLE_EQ(s.dice, 18.0 / 34.0);
  EXPECT_DOUBLE_EQ(s.hd95, std::sqrt(2.0));
}

TEST(EvaluateScores, MeansOverCasesThenClassesAndBinaryPixels) {
  const Grid3 g{1, 4, 4, true};
  SegmentationCases cases;
  cases.cases.push_back({"a", g, box(g, 0, 1, 0, 2, 0, 2), box(g, 0, 1, 0, 2, 0, 2)});  // exact
  cases.cases.push_back({"b", g, std::vector<uint8_t>(16, 0), box(g, 0, 1, 0, 1, 0, 2)});
  const Evaluation e = evaluate_segmentations(cases, 0, {});
  ASSERT_TRUE(e.binary_2d);
  EXPECT_EQ(e.class_names, (std::vector<std::string>{"background", "lesion"}));
  EXPECT_DOUBLE_EQ(e.summary.mean.dice, 0.5);
  // Pixels: TP 4, FP 0, FN 2, TN 26.
  EXPECT_EQ(e.pixels.to_array(), (std::array<int64_t, 4>{4, 0, 2, 26}));
  EXPECT_EQ(evaluation_csv(e),
            "case,class,dice,hd95\na,lesion,1.000000,0.000000\nb,lesion,0.000000,0.000000\n");
}

class EvaluateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_evaluate_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { test::remove_tree(dir); }
  std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir;
};

// Three 3D cases in one file (one without a label), three classes, into a CSV and a database.
TEST_F(EvaluateCli, HdfFileOfVolumesIntoCsvAndDatabase) {
  const std::string h5 = (dir / "volumes.h5").string();
  const Grid3 g{3, 4, 5};
  const auto vol = [&](std::vector<uint8_t> v) { return Volume3<uint8_t>{3, 4, 5, std::move(v)}; };
  const auto two = box(g, 0, 3, 0, 2, 0, 2, 2, box(g, 0, 1, 3, 4, 4, 5, 1));
  write_case_volume(h5, "case1", "pred", vol(two));
  write_case_volume(h5, "case1", "label", vol(two));
  write_case_volume(h5, "case2", "pred", vol(box(g, 0, 1, 0, 1, 0, 1, 1)));
  write_case_volume(h5, "case2", "label", vol(box(g, 2, 3, 3, 4, 4, 5, 2)));
  write_case_volume(h5, "case3", "pred", vol(two));
  const auto csv = dir / "scores.csv", db = dir / "results.db";
  const auto r = test::run_vmunet("evaluate --pred " + h5 + " --label " + h5 +
                                  " --classes 3 --class-names bg,aorta,liver --out " +
                                  csv.string() + " --db " + db.string() + " --run other-tool");
  EXPECT_EQ(r.status, 2) << r.output;  // case3 has no label
  EXPECT_NE(r.output.find("case case3: no /label"), std::string::npos) << r.output;
  // case2: aorta predicted but absent (1, 0); liver not predicted (0, 0).
  EXPECT_EQ(read(csv),
            "case,class,dice,hd95\ncase1,aorta,1.000000,0.000000\ncase1,liver,1.000000,0.000000\n"
            "case2,aorta,1.000000,0.000000\ncase2,liver,0.000000,0.000000\n");
  ResultsDb results(db.string(), ResultsDb::Mode::read_only);
  const auto run = results.find_run("external/other-tool");
  ASSERT_TRUE(run.has_value());
  EXPECT_NE(run->config_json.find("\"external_evaluation\":true"), std::string::npos);
  std::map<std::string, double> m;
  for (const auto& row : results.metrics(run->id)) m[row.name] = row.value;
  EXPECT_DOUBLE_EQ(m.at("dsc"), 0.75);  // aorta 1, liver 0.5
  EXPECT_DOUBLE_EQ(m.at("dsc/liver"), 0.5);
  EXPECT_EQ(results.cases(run->id).size(), 8u);
}

#ifdef VMUNET_HAVE_IMPORTERS
// ISIC-named PNG folders (one prediction unpaired) and the gallery's panels in Dice order.
TEST_F(EvaluateCli, PngFoldersAndGallery) {
  const auto pred = dir / "pred", label = dir / "label", images = dir / "images";
  for (const auto& d : {pred, label, images}) fs::create_directories(d);
  // Case k's prediction covers rows [0, 8 + 4k) of the reference's 16: Dice rises with k.
  const cv::Scalar colours[] = {{200, 0, 0}, {0, 200, 0}, {0, 0, 200}};
  for (int k = 0; k < 3; ++k) {
    const std::string stem = "ISIC_00" + std::to_string(k);
    cv::Mat ref(32, 32, CV_8U, cv::Scalar(0)), mask(32, 32, CV_8U, cv::Scalar(0));
    ref(cv::Rect(8, 8, 16, 16)) = 255;
    mask(cv::Rect(8, 8, 16, 4 + 4 * k)) = 255;
    cv::imwrite((label / (stem + "_Segmentation.png")).string(), ref);
    cv::imwrite((pred / (stem + ".png")).string(), mask);
    cv::imwrite((images / (stem + ".jpg")).string(), cv::Mat(32, 32, CV_8UC3, colours[k]));
  }
  cv::imwrite((pred / "ISIC_099.png").string(), cv::Mat(32, 32, CV_8U, cv::Scalar(0)));
  const auto gallery = dir / "gallery";
  const auto r =
      test::run_vmunet("evaluate --pred " + pred.string() + " --label " + label.string() +
                       " --images " + images.string() + " --gallery " + gallery.string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("ISIC_099.png"), std::string::npos) << r.output;
  // Dice of case k: 2·16(4+4k) / (256 + 16(4+4k)); pixels over all three: TP 384, FN 384.
  EXPECT_TRUE(std::regex_search(r.output, std::regex("ISIC_000 +0\\.4000 "))) << r.output;
  EXPECT_NE(r.output.find("(TP 384 FP 0 FN 384 TN 2304)"), std::string::npos) << r.output;

  const cv::Mat sheet = cv::imread((gallery / "gallery_lesion.png").string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(sheet.empty()) << r.output;
  ASSERT_EQ(sheet.cols, 3 * 256);
  ASSERT_EQ(sheet.rows, 26 + 3 * (30 + 256));
  // Image panels top to bottom: best (case 2, blue in RGB), median (1), worst (0).
  for (int row = 0; row < 3; ++row) {
    const cv::Vec3b bgr = sheet.at<cv::Vec3b>(26 + row * 286 + 30 + 4, 4);
    const cv::Scalar want = colours[2 - row];  // written as BGR by imwrite, read back as BGR
    for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(bgr[ch], want[ch], 8) << "row " << row;
  }
}
#endif

}  // namespace
}  // namespace vmunet
