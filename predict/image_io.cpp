#include "predict/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <vector>

#include "common/error.h"

namespace vmunet {

cv::Mat read_image_rgb(const std::string& path) {
  cv::Mat raw;
  try {
    raw = cv::imread(path, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  } catch (const cv::Exception&) {
    raw = cv::Mat();
  }
  if (raw.empty()) throw Error(path + ": unreadable or not an image (corrupt or truncated?)");
  cv::Mat bytes;
  switch (raw.depth()) {
    case CV_8U:
      bytes = raw;
      break;
    case CV_16U:
      raw.convertTo(bytes, CV_8U, 255.0 / 65535.0);
      break;
    case CV_32F:
    case CV_64F:
      raw.convertTo(bytes, CV_8U, 255.0);
      break;
    default:
      throw Error(path + ": unsupported pixel depth (use 8- or 16-bit images)");
  }
  cv::Mat rgb;
  switch (bytes.channels()) {
    case 1:
      cv::cvtColor(bytes, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(bytes, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(bytes, rgb, cv::COLOR_BGRA2RGB);
      break;
    default:
      throw Error(path + ": unsupported number of channels (" + std::to_string(bytes.channels()) +
                  ")");
  }
  return rgb;
}

cv::Mat resize_like_prepare(const cv::Mat& image, int size) {
  if (image.rows == size && image.cols == size) return image;
  const bool shrinking = image.rows > size || image.cols > size;
  cv::Mat out;
  cv::resize(image, out, cv::Size(size, size), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

void write_png(const std::string& path, const cv::Mat& image) {
  cv::Mat bgr = image;
  if (image.channels() == 3) cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
  bool ok = false;
  try {
    ok = cv::imwrite(path, bgr);
  } catch (const cv::Exception&) {
    ok = false;
  }
  if (!ok) throw Error(path + ": cannot write the PNG (folder missing or disk full?)");
}

cv::Mat overlay_classes(const cv::Mat& rgb, const cv::Mat& classes, const cv::Vec3b* colour) {
  cv::Mat tinted = rgb.clone(), out;
  std::vector<std::pair<cv::Mat, cv::Scalar>> outlines;
  double max_id = 0;
  cv::minMaxLoc(classes, nullptr, &max_id);
  for (int c = 1; c <= static_cast<int>(max_id); ++c) {
    const cv::Mat region = classes == c;
    if (cv::countNonZero(region) == 0) continue;
    const cv::Vec3b v = colour ? *colour : kPalette[c % kPalette.size()];
    const cv::Scalar s(v[0], v[1], v[2]);
    tinted.setTo(s, region);
    outlines.emplace_back(region, s);
  }
  // 30% tint inside the regions, then solid contours on top.
  cv::addWeighted(rgb, 0.7, tinted, 0.3, 0.0, out);
  for (auto& [region, s] : outlines) {
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(region, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
    cv::drawContours(out, contours, -1, s, std::max(1, std::min(rgb.rows, rgb.cols) / 112),
                     cv::LINE_AA);
  }
  return out;
}

}  // namespace vmunet
