// PNG mask folders for load_segmentation_cases (OpenCV).
#include <opencv2/imgcodecs.hpp>

#include "common/error.h"
#include "scoring/segmentation_cases.h"
#include "storage/isic_pairs.h"

namespace vmunet {
namespace {

// Class ids of one mask file (8- or 16-bit grey); empty Mat with `problem` set when unreadable.
cv::Mat read_mask(const std::string& path, bool binary_png, std::string& problem) {
  cv::Mat m = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_GRAYSCALE);
  if (m.empty()) {
    problem = path + ": unreadable or not an image";
    return m;
  }
  double max_value = 0;
  cv::minMaxLoc(m, nullptr, &max_value);
  cv::Mat ids;
  if (binary_png && max_value > 1) {
    const double half = m.depth() == CV_16U ? 32768 : 128;
    ids = (m >= half) / 255;
  } else if (m.depth() != CV_8U) {
    m.convertTo(ids, CV_8U);
  } else {
    ids = m;
  }
  return ids;
}

std::vector<uint8_t> bytes_of(const cv::Mat& m) {
  const cv::Mat c = m.isContinuous() ? m : m.clone();
  return std::vector<uint8_t>(c.data, c.data + c.total());
}

}  // namespace

SegmentationCases load_png_cases(const std::string& pred_dir, const std::string& label_dir,
                                 bool binary_png) {
  const Pairing pairing = pair_by_stem(pred_dir, label_dir, "_Segmentation");
  SegmentationCases out;
  out.problems = pairing.problems;
  for (const ImagePair& pair : pairing.pairs) {
    std::string problem;
    const cv::Mat pred = read_mask(pair.image, binary_png, problem);
    const cv::Mat label = pred.empty() ? cv::Mat() : read_mask(pair.mask, binary_png, problem);
    if (!problem.empty()) {
      out.problems.push_back(problem);
      continue;
    }
    if (pred.size() != label.size()) {
      out.problems.push_back(pair.image + ": " + std::to_string(pred.cols) + "x" +
                             std::to_string(pred.rows) + " but its reference " + pair.mask +
                             " is " + std::to_string(label.cols) + "x" +
                             std::to_string(label.rows));
      continue;
    }
    out.cases.push_back(
        {pair.stem, Grid3{1, pred.rows, pred.cols, true}, bytes_of(pred), bytes_of(label)});
  }
  return out;
}

}  // namespace vmunet
