// Image folders for `prepare isic`, each with the six valid pairs plus one unusual file. Damaged
// files (empty, truncated, corrupt, lying about their size, not images) must be skipped by name
// with a count at the end, or refused under --strict with nothing written. Unusual but valid
// files (16-bit, grey, RGBA, masks stored as 0/1) must give the right pixels.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <functional>

#include "storage/dataset_h5.h"
#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {
namespace fs = std::filesystem;
namespace {

const char* const kStem = "ISIC_0000009";

std::string encoded(const cv::Mat& image, const std::string& extension) {
  std::vector<unsigned char> bytes;
  cv::imencode(extension, image, bytes);
  return std::string(bytes.begin(), bytes.end());
}

cv::Mat noise(int type) {
  cv::Mat m(40, 40, type);
  cv::RNG(3).fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

cv::Mat disc_mask(int type, double on) {
  cv::Mat m(40, 40, type, cv::Scalar(0));
  cv::circle(m, {20, 20}, 10, cv::Scalar(on), cv::FILLED);
  return m;
}

// A JPEG whose scan data holds a restart marker where none belongs: libjpeg warns and decodes on.
std::string corrupt_jpeg() {
  std::string b = encoded(noise(CV_8UC3), ".jpg");
  const size_t scan = b.find("\xff\xda");
  const size_t at = scan + (b.size() - scan) / 2;
  b[at] = '\xff';
  b[at + 1] = '\xd3';
  return b;
}

// A PNG whose header claims `side` x `side` pixels (the CRC is left stale).
std::string png_claiming(uint32_t side) {
  std::string b = encoded(noise(CV_8UC3), ".png");
  for (int i = 0; i < 4; ++i) {
    b[16 + i] = static_cast<char>(side >> (24 - 8 * i));
    b[20 + i] = static_cast<char>(side >> (24 - 8 * i));
  }
  return b;
}

// A JPEG whose frame header claims `side` x `side` pixels.
std::string jpeg_claiming(uint16_t side) {
  std::string b = encoded(noise(CV_8UC3), ".jpg");
  const size_t sof = b.find("\xff\xc0");
  b[sof + 5] = static_cast<char>(side >> 8);
  b[sof + 6] = static_cast<char>(side & 0xff);
  b[sof + 7] = static_cast<char>(side >> 8);
  b[sof + 8] = static_cast<char>(side & 0xff);
  return b;
}

struct Extra {
  std::string name;
  std::string image_file, image_bytes;  // file name in images/ and its bytes
  std::string mask_file, mask_bytes;
};

// A folder with the six valid pairs and `extra`.
std::string folder_with(const Extra& extra) {
  const std::string dir = case_dir("images", extra.name);
  fs::remove_all(dir + "/images");
  fs::remove_all(dir + "/masks");
  fs::copy(workspace().images, dir + "/images");
  fs::copy(workspace().masks, dir + "/masks");
  write_bytes(dir + "/images/" + extra.image_file, extra.image_bytes);
  write_bytes(dir + "/masks/" + extra.mask_file, extra.mask_bytes);
  return dir;
}

std::vector<std::string> prepare_args(const std::string& dir) {
  return {"prepare", "isic", "--images", dir + "/images", "--masks", dir + "/masks",
          "--size",  "32",   "--out",    dir + "/out.h5", "--gzip",  "1"};
}

// `prepare isic` on a folder with the six valid pairs and `extra`.
Case prepare_case(const Extra& extra, const std::string& label, bool legitimate) {
  Case c;
  c.category = "images";
  c.name = extra.name + " (" + label + ")";
  c.args = prepare_args(folder_with(extra));
  c.legitimate = legitimate;
  return c;
}

}  // namespace

std::vector<Case> image_cases() {
  const std::string good_image = encoded(noise(CV_8UC3), ".jpg");
  const std::string good_mask = encoded(disc_mask(CV_8UC1, 255), ".png");
  const std::string image_jpg = std::string(kStem) + ".jpg";
  const std::string image_png = std::string(kStem) + ".png";
  const std::string mask_png = std::string(kStem) + "_segmentation.png";
  const std::string png = encoded(noise(CV_8UC3), ".png");

  const std::vector<Extra> damaged = {
      {"image-zero-byte-jpg", image_jpg, "", mask_png, good_mask},
      {"image-zero-byte-png", image_png, "", mask_png, good_mask},
      {"image-truncated-30", image_jpg, good_image.substr(0, good_image.size() * 3 / 10), mask_png,
       good_mask},
      {"image-truncated-60", image_jpg, good_image.substr(0, good_image.size() * 6 / 10), mask_png,
       good_mask},
      {"image-truncated-90", image_jpg, good_image.substr(0, good_image.size() * 9 / 10), mask_png,
       good_mask},
      {"image-truncated-eoi", image_jpg, good_image.substr(0, good_image.size() - 2), mask_png,
       good_mask},
      {"image-corrupt-scan", image_jpg, corrupt_jpeg(), mask_png, good_mask},
      {"image-random-bytes", image_jpg, std::string(5000, '\x37'), mask_png, good_mask},
      {"image-text", image_png, "not a picture\n", mask_png, good_mask},
      {"image-png-truncated-end", image_png, png.substr(0, png.size() - 20), mask_png, good_mask},
      {"image-png-truncated-half", image_png, png.substr(0, png.size() / 2), mask_png, good_mask},
      {"image-png-60000", image_png, png_claiming(60000), mask_png, good_mask},
      {"image-png-2e9", image_png, png_claiming(2000000000), mask_png, good_mask},
      {"image-jpeg-60000", image_jpg, jpeg_claiming(60000), mask_png, good_mask},
      {"image-bmp-garbage", std::string(kStem) + ".bmp", "BM" + std::string(100, '\x01'), mask_png,
       good_mask},
      {"mask-zero-byte", image_jpg, good_image, mask_png, ""},
      {"mask-truncated", image_jpg, good_image, mask_png,
       good_mask.substr(0, good_mask.size() / 2)},
      {"mask-60000", image_jpg, good_image, mask_png, png_claiming(60000)},
      {"mask-text", image_jpg, good_image, mask_png, "mask\n"},
      {"mask-wrong-size", image_jpg, good_image, mask_png,
       encoded(cv::Mat(41, 40, CV_8UC1, cv::Scalar(255)), ".png")},
  };
  std::vector<Case> cases;
  for (const Extra& extra : damaged) {
    // Without --strict: skipped by name, counted, the rest written; nothing on stderr.
    Case skip = prepare_case(extra, "skipped", true);
    const std::string out = case_dir("images", extra.name) + "/out.h5";
    skip.check = [out](const Outcome& o) -> std::string {
      if (o.out.find("1 inputs skipped") == std::string::npos)
        return "no skip count in the output: " + o.out.substr(0, 300);
      if (o.out.find(kStem) == std::string::npos) return "the skipped file is not named";
      if (!o.err.empty()) return "wrote to stderr: " + o.err.substr(0, 200);
      const Dataset d = read_dataset(out);
      if (d.train.count + d.test.count != 6)
        return std::to_string(d.train.count + d.test.count) + " pairs written, expected 6";
      return "";
    };
    cases.push_back(std::move(skip));

    Extra strict_extra = extra;
    strict_extra.name += "-strict";
    Case strict = prepare_case(strict_extra, "--strict", false);
    const std::string strict_dir = case_dir("images", strict_extra.name);
    strict.args.push_back("--strict");
    strict.absent = {strict_dir + "/out.h5", strict_dir + "/out.h5.partial"};
    cases.push_back(std::move(strict));
  }

  // Legitimate unusual files: the sample must be there with the right mask.
  cv::Mat grey_disc = disc_mask(CV_8UC1, 255);
  const std::vector<std::pair<Extra, int64_t>> valid = {
      {{"image-16-bit", image_png, encoded(noise(CV_16UC3), ".png"), mask_png, good_mask}, -1},
      {{"image-grey", image_jpg, encoded(noise(CV_8UC1), ".jpg"), mask_png, good_mask}, -1},
      {{"image-rgba", image_png, encoded(noise(CV_8UC4), ".png"), mask_png, good_mask}, -1},
      {{"mask-0-1", image_jpg, good_image, mask_png, encoded(disc_mask(CV_8UC1, 1), ".png")}, -1},
      {{"mask-16-bit", image_jpg, good_image, mask_png,
        encoded(disc_mask(CV_16UC1, 65535), ".png")},
       -1},
      {{"mask-16-bit-0-1", image_jpg, good_image, mask_png,
        encoded(disc_mask(CV_16UC1, 1), ".png")},
       -1},
      {{"mask-rgb", image_jpg, good_image, mask_png,
        [] {
          cv::Mat rgb;
          cv::cvtColor(disc_mask(CV_8UC1, 255), rgb, cv::COLOR_GRAY2BGR);
          return encoded(rgb, ".png");
        }()},
       -1},
      {{"mask-empty", image_jpg, good_image, mask_png,
        encoded(cv::Mat(40, 40, CV_8UC1, cv::Scalar(0)), ".png")},
       0},
  };
  for (const auto& [extra, expected_pixels] : valid) {
    Case c = prepare_case(extra, "legitimate", true);
    const std::string out = case_dir("images", extra.name) + "/out.h5";
    const bool zero_one = extra.name.find("0-1") != std::string::npos;
    const int64_t want = expected_pixels;
    c.check = [out, zero_one, want](const Outcome& o) -> std::string {
      if (o.out.find("skipped") != std::string::npos) return "skipped a valid file: " + o.out;
      if (zero_one && o.out.find("hold only 0 and 1") == std::string::npos)
        return "no note about the 0/1 mask";
      const Dataset d = read_dataset(out);
      for (const ImageSet* set : {&d.train, &d.test})
        for (int64_t i = 0; i < set->count; ++i) {
          if (set->names[static_cast<size_t>(i)] != kStem) continue;
          int64_t lesion = 0;
          for (int64_t p = 0; p < 32 * 32; ++p)
            lesion += set->masks[static_cast<size_t>(i * 32 * 32 + p)];
          // The disc of radius 10 in 40x40 covers about 314/1600 of the image: ~200 of 1024.
          if (want == 0 ? lesion != 0 : (lesion < 150 || lesion > 260))
            return "mask has " + std::to_string(lesion) + " lesion pixels";
          return "";
        }
      return std::string(kStem) + " is missing from the output";
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vmunet::robustness
