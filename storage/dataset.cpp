#include "storage/dataset.h"

#include <cmath>
#include <set>
#include <sstream>

#include "common/error.h"

namespace vmunet {
namespace {

std::string index_text(std::vector<int64_t> shape, int64_t flat) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::ostringstream out;
  out << "[";
  for (size_t d = 0; d < index.size(); ++d) out << (d ? ", " : "") << index[d];
  out << "]";
  return out.str();
}

void check_image_set(const ImageSet& set, const DatasetMeta& meta, const std::string& where) {
  const int64_t pixels = set.count * set.height * set.width;
  if (set.count < 0 || set.height < 0 || set.width < 0 || set.channels < 0)
    throw Error(where + ": negative dimension");
  if (static_cast<int64_t>(set.images.size()) != pixels * set.channels)
    throw Error(
        where + "/images: holds " + std::to_string(set.images.size()) +
        " values, expected count*height*width*channels = " + std::to_string(pixels * set.channels));
  if (static_cast<int64_t>(set.masks.size()) != pixels)
    throw Error(where + "/masks: holds " + std::to_string(set.masks.size()) +
                " values, expected count*height*width = " + std::to_string(pixels));
  if (static_cast<int64_t>(set.names.size()) != set.count)
    throw Error(where + "/names: holds " + std::to_string(set.names.size()) + " names for " +
                std::to_string(set.count) + " images");
  if (set.count == 0) return;
  if (set.height != meta.resolution || set.width != meta.resolution)
    throw Error(where + "/images: images are " + std::to_string(set.height) + "x" +
                std::to_string(set.width) + " but the dataset's resolution is " +
                std::to_string(meta.resolution));
  if (set.channels != 1 && set.channels != 3)
    throw Error(where + "/images: " + std::to_string(set.channels) +
                " channels; expected 1 (grey) or 3 (RGB)");
  check_mask_values(set.masks.data(), {set.count, set.height, set.width}, meta, where + "/masks");
}

}  // namespace

const char* task_name(Task task) { return task == Task::binary ? "binary" : "multiclass"; }

Task parse_task(const std::string& text, const std::string& where) {
  if (text == "binary") return Task::binary;
  if (text == "multiclass") return Task::multiclass;
  throw Error(where + ": task '" + text + "' is neither 'binary' nor 'multiclass'");
}

const std::vector<std::string>& binary_class_names() {
  static const std::vector<std::string> names{"background", "lesion"};
  return names;
}

const std::vector<std::string>& synapse_class_names() {
  static const std::vector<std::string> names{"background",  "aorta",        "gallbladder",
                                              "kidney_left", "kidney_right", "liver",
                                              "pancreas",    "spleen",       "stomach"};
  return names;
}

void PixelStatistics::add(const uint8_t* values, size_t count) {
  count_ += count;
  for (size_t i = 0; i < count; ++i) {
    sum_ += values[i];
    sum_squares_ += static_cast<uint64_t>(values[i]) * values[i];
  }
}

Normalisation PixelStatistics::result() const {
  if (count_ == 0) return {};
  const double n = static_cast<double>(count_);
  const double mean = static_cast<double>(sum_) / n;
  const double variance = static_cast<double>(sum_squares_) / n - mean * mean;
  return {mean, std::sqrt(std::max(variance, 0.0))};
}

void check_meta(const DatasetMeta& meta, const std::string& where) {
  const std::string again = "; re-run vmunet prepare with this version";
  if (meta.format_version != kDatasetFormatVersion)
    throw Error(where + ": format version " + std::to_string(meta.format_version) +
                ", this vmunet reads version " + std::to_string(kDatasetFormatVersion) + again);
  if (meta.name.empty()) throw Error(where + ": attribute 'name' is empty" + again);
  if (meta.resolution <= 0)
    throw Error(where + ": attribute 'resolution' is " + std::to_string(meta.resolution) +
                ", expected a positive size" + again);
  const size_t want_classes = meta.task == Task::binary ? 2 : 0;
  if ((want_classes && meta.class_names.size() != want_classes) || meta.class_names.size() < 2 ||
      meta.class_names.size() > 256)
    throw Error(where + ": attribute 'class_names' has " + std::to_string(meta.class_names.size()) +
                " names; a " + task_name(meta.task) + " dataset needs " +
                (want_classes ? "exactly 2" : "2 to 256") + again);
  std::set<std::string> unique(meta.class_names.begin(), meta.class_names.end());
  if (unique.size() != meta.class_names.size() || unique.count(""))
    throw Error(where + ": attribute 'class_names' has empty or repeated names" + again);
  for (const auto& [label, norm] : {std::pair{"train", meta.train_norm}, {"test", meta.test_norm}})
    if (!std::isfinite(norm.mean) || !std::isfinite(norm.std) || norm.std <= 0.0 ||
        norm.mean < 0.0 || norm.mean > 255.0)
      throw Error(where + ": normalisation constants of the " + label + " split (mean " +
                  std::to_string(norm.mean) + ", std " + std::to_string(norm.std) +
                  ") are not a mean in [0,255] with a positive std" + again);
}

void check_mask_values(const uint8_t* masks, const std::vector<int64_t>& shape,
                       const DatasetMeta& meta, const std::string& where) {
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  const int64_t limit = meta.num_classes();  // 2 for binary datasets (check_meta)
  for (int64_t i = 0; i < total; ++i)
    if (masks[i] >= limit)
      throw Error(where + index_text(shape, i) + " = " + std::to_string(masks[i]) +
                  (meta.task == Task::binary
                       ? " but a binary mask holds only 0 and 1"
                       : " but there are only " + std::to_string(limit) + " classes") +
                  "; re-run vmunet prepare on the source data");
}

void check_volume_image(const Volume& volume, const std::string& where) {
  for (size_t i = 0; i < volume.image.size(); ++i)
    if (!(volume.image[i] >= 0.0f && volume.image[i] <= 1.0f))
      throw Error(where +
                  index_text({volume.depth, volume.height, volume.width}, static_cast<int64_t>(i)) +
                  " = " + std::to_string(volume.image[i]) +
                  " is outside [0, 1]; volumes hold CT values already clipped and scaled");
}

void check_dataset(const Dataset& data, const std::string& where) {
  check_meta(data.meta, where);
  check_image_set(data.train, data.meta, where + ": /train");
  check_image_set(data.test, data.meta, where + ": /test");
  if (data.train.count == 0) throw Error(where + ": /train holds no images");
  if (data.test.count == 0 && data.volumes.empty())
    throw Error(where + ": /test holds neither images nor volumes");
  if (data.test.count > 0 && data.test.channels != data.train.channels)
    throw Error(where + ": /test/images have " + std::to_string(data.test.channels) +
                " channels but /train/images have " + std::to_string(data.train.channels));
  std::set<std::string> cases;
  for (const Volume& volume : data.volumes) {
    const std::string at = where + ": /test/volumes/" + volume.name;
    if (volume.name.empty() || volume.name.find('/') != std::string::npos ||
        !cases.insert(volume.name).second)
      throw Error(at + ": volume names must be unique, non-empty and contain no '/'");
    const int64_t voxels = volume.depth * volume.height * volume.width;
    if (volume.depth <= 0 || volume.height <= 0 || volume.width <= 0 ||
        static_cast<int64_t>(volume.image.size()) != voxels ||
        static_cast<int64_t>(volume.label.size()) != voxels)
      throw Error(at + ": image and label must both hold depth*height*width values (shape " +
                  std::to_string(volume.depth) + "x" + std::to_string(volume.height) + "x" +
                  std::to_string(volume.width) + ")");
    check_volume_image(volume, at + "/image");
    check_mask_values(volume.label.data(), {volume.depth, volume.height, volume.width}, data.meta,
                      at + "/label");
  }
}

}  // namespace vmunet
