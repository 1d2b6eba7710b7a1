#include "storage/prepare_isic.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <filesystem>
#include <memory>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/image_file.h"
#include "storage/isic_pairs.h"
#include "storage/progress.h"
#include "storage/rng.h"

namespace vmunet {
namespace {

const char* const kCommand = "prepare isic";

struct Splits {
  std::vector<ImagePair> train, test;
};

Pairing pair_folder(const std::string& images, const std::string& masks, const IsicOptions& options,
                    PrepareSummary& summary) {
  Pairing pairing = pair_by_stem(images, masks, options.mask_suffix);
  if (!pairing.problems.empty() && options.strict)
    report_problem(pairing.problems.front() + " (" + std::to_string(pairing.problems.size()) +
                       " pairing problems in all)",
                   true, summary);
  for (const std::string& problem : pairing.problems) report_problem(problem, false, summary);
  return pairing;
}

Splits make_splits(const IsicOptions& options, PrepareSummary& summary) {
  Splits splits;
  if (!options.root.empty()) {
    const std::filesystem::path root(options.root);
    splits.train = pair_folder((root / "train/images").string(), (root / "train/masks").string(),
                               options, summary)
                       .pairs;
    splits.test =
        pair_folder((root / "val/images").string(), (root / "val/masks").string(), options, summary)
            .pairs;
    return splits;
  }
  const std::vector<ImagePair> pairs =
      pair_folder(options.images, options.masks, options, summary).pairs;
  // A pair's split depends only on the seed and the full pair list; the permutation's first
  // round(split * n) pairs train. Each split is then kept in stem order.
  Rng rng(options.seed);
  const std::vector<int64_t> order = rng.permutation(static_cast<int64_t>(pairs.size()));
  const auto train_count =
      static_cast<size_t>(std::lround(options.split * static_cast<double>(pairs.size())));
  std::vector<bool> is_train(pairs.size(), false);
  for (size_t i = 0; i < train_count; ++i) is_train[static_cast<size_t>(order[i])] = true;
  for (size_t i = 0; i < pairs.size(); ++i)
    (is_train[i] ? splits.train : splits.test).push_back(pairs[i]);
  return splits;
}

// A mask as 0/255: masks stored as 0/1 (common in public datasets) are scaled up, and 16-bit
// masks split at half their range (or at 1 when they hold only 0/1). Sets `zero_one` for a 0/1
// mask.
cv::Mat binary_mask(const cv::Mat& mask, bool& zero_one) {
  double low = 0, high = 0;
  cv::minMaxLoc(mask, &low, &high);
  zero_one = high == 1;
  const double half = zero_one ? 0.5 : mask.depth() == CV_16U ? 32767.5 : 127.5;
  cv::Mat binary;
  cv::compare(mask, half, binary, cv::CMP_GT);  // 0/255, 8-bit
  return binary;
}

// Reads one pair: RGB image and 0/255 mask of the same size, or a problem line.
bool load_pair(const ImagePair& pair, cv::Mat& image, cv::Mat& mask, bool& zero_one,
               std::string& problem) {
  // Masks carry no EXIF orientation, so the image must not be rotated by its own.
  image = read_image_file(pair.image, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION, problem);
  if (image.empty()) {
    problem = "image " + problem;
    return false;
  }
  mask = read_image_file(pair.mask, cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH, problem);
  if (mask.empty()) {
    problem = "mask " + problem;
    return false;
  }
  if (image.size() != mask.size()) {
    problem = "image " + pair.image + " is " + std::to_string(image.cols) + "x" +
              std::to_string(image.rows) + " but its mask " + pair.mask + " is " +
              std::to_string(mask.cols) + "x" + std::to_string(mask.rows);
    return false;
  }
  cv::cvtColor(image, image, cv::COLOR_BGR2RGB);
  mask = binary_mask(mask, zero_one);  // > half is lesion
  return true;
}

cv::Mat resized(const cv::Mat& source, int size) {
  if (source.rows == size && source.cols == size) return source;
  const bool shrinking = source.rows > size || source.cols > size;
  cv::Mat out;
  cv::resize(source, out, cv::Size(size, size), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

cv::Mat resized_mask(const cv::Mat& mask, int size) {
  cv::Mat sized = mask, binary;
  if (mask.rows != size || mask.cols != size) {
    const bool shrinking = mask.rows > size || mask.cols > size;
    cv::resize(mask, sized, cv::Size(size, size), 0, 0,
               shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  cv::threshold(sized, binary, 127, 1, cv::THRESH_BINARY);
  return binary;
}

std::string describe_source(const IsicOptions& options) {
  if (!options.root.empty())
    return "vmunet prepare isic --root " + options.root + " (VM-UNet layout, train/ and val/)";
  return "vmunet prepare isic --images " + options.images + " --masks " + options.masks +
         " --mask-suffix " + options.mask_suffix + " --split " + std::to_string(options.split) +
         " --seed " + std::to_string(options.seed);
}

}  // namespace

PrepareSummary prepare_isic(const IsicOptions& options) {
  const bool flat = !options.images.empty() || !options.masks.empty();
  if (flat == !options.root.empty() || (flat && (options.images.empty() || options.masks.empty())))
    throw Error(std::string(kCommand) + ": give either --images and --masks, or --root");
  if (!(options.split > 0.0 && options.split < 1.0))
    throw Error(std::string(kCommand) + ": --split " + std::to_string(options.split) +
                " must be between 0 and 1 (the training fraction)");
  check_sizes(options.sizes, options.out, kCommand);

  PrepareSummary summary;
  const Splits splits = make_splits(options, summary);
  if (splits.train.empty() || splits.test.empty())
    throw Error(std::string(kCommand) + ": " + std::to_string(splits.train.size()) +
                " training and " + std::to_string(splits.test.size()) +
                " test pairs; both splits need at least one");

  std::vector<std::unique_ptr<DatasetWriter>> writers;
  for (int size : options.sizes) {
    DatasetMeta meta;
    meta.name = options.name;
    meta.task = Task::binary;
    meta.class_names = binary_class_names();
    meta.resolution = size;
    meta.source = describe_source(options);
    writers.push_back(
        std::make_unique<DatasetWriter>(output_path(options.out, size), meta, options.gzip_level));
  }

  int64_t zero_one_masks = 0;
  ProgressBar progress("prepare isic",
                       static_cast<int64_t>(splits.train.size() + splits.test.size()));
  for (const auto& [split, pairs] :
       {std::pair{"train", &splits.train}, std::pair{"test", &splits.test}}) {
    for (const ImagePair& pair : *pairs) {
      cv::Mat image, mask;
      std::string problem;
      bool zero_one = false;
      if (!load_pair(pair, image, mask, zero_one, problem)) {
        report_problem(problem, options.strict, summary);
      } else {
        zero_one_masks += zero_one;
        for (size_t s = 0; s < options.sizes.size(); ++s) {
          const int size = options.sizes[s];
          const cv::Mat sized_image = resized(image, size), sized_mask = resized_mask(mask, size);
          writers[s]->append(split, sized_image.ptr<uint8_t>(), sized_mask.ptr<uint8_t>(), size,
                             size, 3, pair.stem);
        }
      }
      progress.advance();
    }
  }
  progress.finish();
  if (zero_one_masks > 0)
    summary.notes.push_back(std::to_string(zero_one_masks) +
                            " masks hold only 0 and 1; read 1 as lesion (scaled to 255)");
  commit_writers(writers, options.out, options.sizes, summary);
  return summary;
}

}  // namespace vmunet
