// `vmunet predict` with a tiny checkpoint trained here: masks at each image's own size (colour,
// grey-scale, 16-bit), corrupt files skipped by name, overlays and probability maps, equality
// with the trainer's own evaluation, and multiclass volumes scored by `evaluate` as the trainer
// scores them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "storage/dataset_h5.h"
#include "storage/results_db.h"
#include "tests/remove_tree.h"
#include "tests/run_binary.h"
#include "tests/tiny_run.h"
#include "worker/trainer.h"
#ifdef VMUNET_HAVE_IMPORTERS
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace vmunet {
namespace {
namespace fs = std::filesystem;

class Predict : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = fs::temp_directory_path() / ("vmunet_predict_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
    const auto config = test::tiny_run_config((dir / "binary.h5").string(), "binary", 1);
    binary = train_run(test::train_request(config, (dir / "runs").string()));
    binary_run = dir / "runs" / binary.run_key;
  }
  static void TearDownTestSuite() { test::remove_tree(dir); }
  static fs::path dir, binary_run;
  static TrainResult binary;
};
fs::path Predict::dir, Predict::binary_run;
TrainResult Predict::binary;

#ifdef VMUNET_HAVE_IMPORTERS
// The test split written out as PNG files and segmented by predict: the same pixels as the
// trainer's final evaluation counted.
TEST_F(Predict, MasksOfTheTestImagesEqualTheTrainersEvaluation) {
  const Dataset data = read_dataset((dir / "binary.h5").string());
  const auto& t = data.test;
  const auto images = dir / "test_images";
  fs::create_directories(images);
  for (int64_t i = 0; i < t.count; ++i) {
    cv::Mat rgb(int(t.height), int(t.width), CV_8UC3,
                const_cast<uint8_t*>(t.images.data() + i * t.height * t.width * 3)),
        bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    cv::imwrite((images / (t.names[i] + ".png")).string(), bgr);
  }
  const auto out = dir / "test_masks";
  const auto r = test::run_vmunet("predict --checkpoint " + binary_run.string() + " --input " +
                                  images.string() + " --out " + out.string() + " --batch 6");
  ASSERT_EQ(r.status, 0) << r.output;
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  for (int64_t i = 0; i < t.count; ++i) {
    const cv::Mat mask = cv::imread((out / (t.names[i] + ".png")).string(), cv::IMREAD_UNCHANGED);
    ASSERT_EQ(mask.type(), CV_8U);
    for (int64_t p = 0; p < t.height * t.width; ++p) {
      const bool pred = mask.data[p] == 255, truth = t.masks[i * t.height * t.width + p] != 0;
      tp += pred && truth;
      fp += pred && !truth;
      fn += !pred && truth;
      tn += !pred && !truth;
    }
  }
  EXPECT_EQ(tp, int64_t(binary.metrics.at("tp")));
  EXPECT_EQ(fp, int64_t(binary.metrics.at("fp")));
  EXPECT_EQ(fn, int64_t(binary.metrics.at("fn")));
  EXPECT_EQ(tn, int64_t(binary.metrics.at("tn")));
}

TEST_F(Predict, EachImageAtItsOwnSizeAndCorruptFilesSkipped) {
  const auto in = dir / "mixed";
  fs::create_directories(in);
  cv::Mat colour(30, 40, CV_8UC3), grey(80, 100, CV_8U), deep(70, 50, CV_16UC3);
  cv::randu(colour, 0, 255);
  cv::randu(grey, 0, 255);
  cv::randu(deep, 0, 65535);
  cv::imwrite((in / "colour.jpg").string(), colour);
  cv::imwrite((in / "grey.png").string(), grey);
  cv::imwrite((in / "deep.png").string(), deep);
  std::ofstream((in / "broken.png").string()) << "not a png at all";
  const auto out = dir / "mixed_out";
  const auto r = test::run_vmunet("predict --checkpoint " + binary_run.string() + " --input " +
                                  in.string() + " --out " + out.string() +
                                  " --overlay --probabilities --device cpu --batch 2");
  EXPECT_EQ(r.status, 2) << r.output;  // one input skipped
  EXPECT_NE(r.output.find("broken.png: unreadable"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("segmented 3 inputs"), std::string::npos) << r.output;
  const std::pair<const char*, cv::Size> sizes[] = {
      {"colour", {40, 30}}, {"grey", {100, 80}}, {"deep", {50, 70}}};
  for (const auto& [stem, size] : sizes) {
    const cv::Mat mask = cv::imread((out / (std::string(stem) + ".png")).string(), -1);
    ASSERT_FALSE(mask.empty()) << stem;
    EXPECT_EQ(mask.size(), size) << stem;
    EXPECT_EQ(mask.type(), CV_8U) << stem;
    for (auto it = mask.begin<uint8_t>(); it != mask.end<uint8_t>(); ++it)
      ASSERT_TRUE(*it == 0 || *it == 255) << stem;
    const cv::Mat prob =
        cv::imread((out / "probabilities" / (std::string(stem) + ".png")).string(), -1);
    EXPECT_EQ(prob.type(), CV_16U) << stem;
    EXPECT_EQ(prob.size(), size) << stem;
    // The mask is the probability map thresholded at the checkpoint's 0.5.
    EXPECT_EQ(cv::countNonZero(mask != ((prob >= 32768) & 255)), 0) << stem;
    const cv::Mat overlay = cv::imread((out / "overlays" / (std::string(stem) + ".png")).string());
    EXPECT_EQ(overlay.size(), size) << stem;
    EXPECT_EQ(overlay.type(), CV_8UC3) << stem;
  }
  EXPECT_FALSE(fs::exists(out / "broken.png"));
}
#endif

TEST_F(Predict, MulticlassVolumesScoreAsTheTrainerScoresThem) {
  const auto config = test::tiny_run_config((dir / "ct.h5").string(), "multiclass", 1);
  const TrainResult ct = train_run(test::train_request(config, (dir / "runs").string()));
  const auto out = dir / "ct_out";
  const auto p =
      test::run_vmunet("predict --checkpoint " + (dir / "runs" / ct.run_key).string() +
                       " --input " + (dir / "ct.h5").string() + " --out " + out.string());
  ASSERT_EQ(p.status, 0) << p.output;
  const std::string h5 = (out / "predictions.h5").string();
  const auto db = out / "results.db";
  const auto e = test::run_vmunet("evaluate --pred " + h5 + " --label " + h5 +
                                  " --classes 9 --db " + db.string() + " --run mine");
  ASSERT_EQ(e.status, 0) << e.output;
  ResultsDb results(db.string(), ResultsDb::Mode::read_only);
  std::map<std::string, double> m;
  for (const auto& row : results.metrics(results.find_run("external/mine")->id))
    m[row.name] = row.value;
  EXPECT_DOUBLE_EQ(m.at("dsc"), ct.metrics.at("dsc"));
  EXPECT_DOUBLE_EQ(m.at("hd95"), ct.metrics.at("hd95"));
}

}  // namespace
}  // namespace vmunet
