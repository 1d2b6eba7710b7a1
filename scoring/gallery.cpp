#include "scoring/gallery.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "predict/image_io.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

constexpr int kPanel = 256;   // each panel's side on the sheet
constexpr int kCaption = 30;  // caption strip above each row
constexpr int kHeader = 26;   // column titles

// The case's image at its masks' size, or a black one (and `note` says so).
cv::Mat case_image(const std::string& images_dir, const SegmentationCase& c, std::string& note) {
  for (const char* ext : {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".JPG", ".PNG"}) {
    const fs::path p = fs::path(images_dir) / (c.name + ext);
    if (!fs::exists(p)) continue;
    try {
      cv::Mat rgb = read_image_rgb(p.string());
      if (rgb.rows != c.grid.height || rgb.cols != c.grid.width)
        cv::resize(rgb, rgb,
                   cv::Size(static_cast<int>(c.grid.width), static_cast<int>(c.grid.height)), 0, 0,
                   cv::INTER_AREA);
      return rgb;
    } catch (const Error&) {
      note = " (image unreadable)";
    }
  }
  if (note.empty()) note = " (no image)";
  return cv::Mat(static_cast<int>(c.grid.height), static_cast<int>(c.grid.width), CV_8UC3,
                 cv::Scalar(0, 0, 0));
}

cv::Mat panel(const cv::Mat& rgb) {
  cv::Mat out;
  cv::resize(rgb, out, cv::Size(kPanel, kPanel), 0, 0, cv::INTER_AREA);
  return out;
}

void text(cv::Mat& sheet, const std::string& s, int x, int baseline) {
  cv::putText(sheet, s, cv::Point(x, baseline), cv::FONT_HERSHEY_SIMPLEX, 0.5,
              cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
}

}  // namespace

std::vector<std::string> write_gallery(const Evaluation& e, const SegmentationCases& cases,
                                       const std::string& images_dir, const std::string& out_dir) {
  for (const auto& c : cases.cases)
    if (!c.grid.planar)
      throw Error("--gallery: case " + c.name + " is a volume; the gallery needs 2D masks");
  fs::create_directories(out_dir);
  std::vector<std::string> written;
  const cv::Vec3b reference = kReferenceColour;
  for (size_t k = 0; k + 1 < e.class_names.size(); ++k) {
    // Best first; ties by name, so the sheet does not depend on the order of the files.
    std::vector<size_t> order(e.cases.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return e.cases[a].per_class[k].dice > e.cases[b].per_class[k].dice;
    });
    const std::pair<const char*, size_t> rows[] = {{"best", order.front()},
                                                   {"median", order[(order.size() - 1) / 2]},
                                                   {"worst", order.back()}};
    cv::Mat sheet(kHeader + 3 * (kCaption + kPanel), 3 * kPanel, CV_8UC3, cv::Scalar(32, 32, 32));
    text(sheet, "image", 8, 18);
    text(sheet, "reference", kPanel + 8, 18);
    text(sheet, "prediction", 2 * kPanel + 8, 18);
    int y = kHeader;
    for (const auto& [label, index] : rows) {
      const SegmentationCase& c = cases.cases[index];
      const auto& score = e.cases[index].per_class[k];
      std::string note;
      const cv::Mat rgb = case_image(images_dir, c, note);
      const auto mask = [&](const std::vector<uint8_t>& ids) {
        return cv::Mat(rgb.rows, rgb.cols, CV_8U, const_cast<uint8_t*>(ids.data())) ==
               static_cast<int>(k + 1);
      };
      const cv::Vec3b pred_colour = kPalette[(k + 1) % kPalette.size()];
      text(sheet,
           fmt::format("{}: {}  Dice {:.4f}  HD95 {:.2f}{}", label, c.name, score.dice, score.hd95,
                       note),
           8, y + 20);
      y += kCaption;
      panel(rgb).copyTo(sheet(cv::Rect(0, y, kPanel, kPanel)));
      panel(overlay_classes(rgb, mask(c.label) / 255, &reference))
          .copyTo(sheet(cv::Rect(kPanel, y, kPanel, kPanel)));
      panel(overlay_classes(rgb, mask(c.pred) / 255, &pred_colour))
          .copyTo(sheet(cv::Rect(2 * kPanel, y, kPanel, kPanel)));
      y += kPanel;
    }
    const std::string path =
        (fs::path(out_dir) / ("gallery_" + e.class_names[k + 1] + ".png")).string();
    write_png(path, sheet);
    written.push_back(path);
  }
  return written;
}

}  // namespace vmunet
