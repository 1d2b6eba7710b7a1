// A prepared dataset in memory, as stored in one HDF5 file (DESIGN §4), and the checks every
// writer and reader applies to it.
//
// File layout (format version 1):
//   /train/images uint8 [N,H,W,C]   /train/masks uint8 [N,H,W]   /train/names string [N]
//   /test/...      the same (may hold 0 images when the test split is volumetric)
//   /test/volumes/<case>/image float32 [D,H',W'] in [0,1]   /test/volumes/<case>/label uint8
//   [D,H',W']
// Masks and labels hold 0/1 (binary task) or class ids < class_names.size() (multiclass).
// Root attributes: format_version, name, task, class_names, resolution (= H = W), norm_train_mean,
// norm_train_std, norm_test_mean, norm_test_std (over all uint8 pixel values of the split's
// images), source, tool_version.
//
// How the trainer scales images: binary (ISIC protocol, DESIGN §3) (x - mean)/std with the split's
// constants, then min-max to [0, 255] per image; multiclass (Synapse) x/255, the scale of the
// float32 test volumes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vmunet {

inline constexpr int kDatasetFormatVersion = 1;

enum class Task { binary, multiclass };

const char* task_name(Task task);
// Throws Error naming `where` for anything but "binary" or "multiclass".
Task parse_task(const std::string& text, const std::string& where);

struct Normalisation {
  double mean = 0.0;  // over every pixel value (all channels) of a split's uint8 images
  double std = 1.0;   // population standard deviation
};

struct DatasetMeta {
  int format_version = kDatasetFormatVersion;
  std::string name;
  Task task = Task::binary;
  std::vector<std::string> class_names;  // index = mask value; binary: {background, lesion}
  int resolution = 0;
  Normalisation train_norm, test_norm;
  std::string source;        // how the file was made (command, folders, seed)
  std::string tool_version;  // the vmunet that wrote it

  int64_t num_classes() const { return static_cast<int64_t>(class_names.size()); }
};

// One split's 2D samples, row-major.
struct ImageSet {
  int64_t count = 0, height = 0, width = 0, channels = 0;
  std::vector<uint8_t> images;     // [count, height, width, channels]
  std::vector<uint8_t> masks;      // [count, height, width]
  std::vector<std::string> names;  // [count], e.g. the source file stem
};

// A test volume at full resolution (Synapse-style evaluation per case).
struct Volume {
  std::string name;
  int64_t depth = 0, height = 0, width = 0;
  std::vector<float> image;    // [depth, height, width] in [0, 1]
  std::vector<uint8_t> label;  // [depth, height, width]
};

struct Dataset {
  DatasetMeta meta;
  ImageSet train, test;
  std::vector<Volume> volumes;
};

// {"background", "lesion"}
const std::vector<std::string>& binary_class_names();
// Synapse label values 0-8: background, then the organs in DESIGN §3 order.
const std::vector<std::string>& synapse_class_names();

// Mean and standard deviation of uint8 pixel values, accumulated exactly in integers so that the
// constants do not depend on the order or the batching of the images.
class PixelStatistics {
 public:
  void add(const uint8_t* values, size_t count);
  Normalisation result() const;  // mean 0, std 1 when nothing was added

 private:
  uint64_t count_ = 0, sum_ = 0, sum_squares_ = 0;
};

// Each check throws Error("<where>: <problem>; <what to do>").
void check_meta(const DatasetMeta& meta, const std::string& where);
// Masks must be 0/1 (binary) or < num_classes; the message names the first offending index.
void check_mask_values(const uint8_t* masks, const std::vector<int64_t>& shape,
                       const DatasetMeta& meta, const std::string& where);
void check_volume_image(const Volume& volume, const std::string& where);
// Whole-dataset consistency: shapes, counts, resolution, names, value ranges, non-empty splits.
void check_dataset(const Dataset& data, const std::string& where);

}  // namespace vmunet
