#include "storage/prepare_synapse.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/h5_util.h"
#include "storage/npz.h"
#include "storage/progress.h"

namespace fs = std::filesystem;

namespace vmunet {
namespace {

const char* const kCommand = "prepare synapse";
constexpr int kClasses = 9;  // background and the eight organs

std::vector<std::string> read_list(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw Error(std::string(kCommand) + ": missing " + path.string() +
                " (expected the TransUNet layout: lists/lists_Synapse/{train.txt,test_vol.txt})");
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) continue;
    names.push_back(line.substr(first, line.find_last_not_of(" \t\r\n") - first + 1));
  }
  if (names.empty()) throw Error(std::string(kCommand) + ": " + path.string() + " lists nothing");
  return names;
}

// CT values must already be clipped and scaled to [0, 1]; rounding noise just outside is clamped.
bool to_unit_range(std::vector<float>& values, const std::string& where, std::string& problem) {
  for (float& v : values) {
    if (!(v >= -1e-3f && v <= 1.001f)) {
      problem = where + " holds " + std::to_string(v) +
                ", outside [0, 1] (expected CT values "
                "clipped and scaled as in TransUNet's preprocessing)";
      return false;
    }
    v = std::clamp(v, 0.0f, 1.0f);
  }
  return true;
}

bool to_labels(const std::vector<float>& values, std::vector<uint8_t>& labels,
               const std::string& where, std::string& problem) {
  labels.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!(v >= 0 && v < kClasses) || v != std::floor(v)) {
      problem = where + " holds " + std::to_string(v) + " at element " + std::to_string(i) +
                ", not a label 0-8";
      return false;
    }
    labels[i] = static_cast<uint8_t>(v);
  }
  return true;
}

struct Slice {
  std::vector<float> image;
  std::vector<uint8_t> label;
  int height = 0, width = 0;
};

bool load_slice(const fs::path& path, Slice& slice, std::string& problem) {
  if (!fs::is_regular_file(path)) {
    problem = "training slice " + path.string() + " is missing";
    return false;
  }
  std::map<std::string, NpyArray> arrays;
  try {
    arrays = read_npz(path.string());
  } catch (const Error& error) {
    problem = error.what();
    return false;
  }
  const auto image = arrays.find("image"), label = arrays.find("label");
  if (image == arrays.end() || label == arrays.end()) {
    problem = path.string() + " lacks the arrays 'image' and 'label'";
    return false;
  }
  if (image->second.shape.size() != 2 || image->second.shape != label->second.shape) {
    problem = path.string() + ": 'image' and 'label' must be 2-D arrays of the same shape";
    return false;
  }
  slice.height = static_cast<int>(image->second.shape[0]);
  slice.width = static_cast<int>(image->second.shape[1]);
  slice.image = image->second.to_float();
  return to_unit_range(slice.image, path.string() + ":image", problem) &&
         to_labels(label->second.to_float(), slice.label, path.string() + ":label", problem);
}

// One slice at `size`: image cubic (as the official zoom order 3) then uint8, label nearest.
void resize_slice(const Slice& slice, int size, std::vector<uint8_t>& image,
                  std::vector<uint8_t>& label) {
  cv::Mat source_image(slice.height, slice.width, CV_32F, const_cast<float*>(slice.image.data()));
  cv::Mat source_label(slice.height, slice.width, CV_8U, const_cast<uint8_t*>(slice.label.data()));
  cv::Mat out_image, out_label;
  cv::resize(source_image, out_image, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
  cv::resize(source_label, out_label, cv::Size(size, size), 0, 0, cv::INTER_NEAREST);
  image.resize(static_cast<size_t>(size) * size);
  label.assign(out_label.ptr<uint8_t>(), out_label.ptr<uint8_t>() + image.size());
  const float* values = out_image.ptr<float>();
  for (size_t i = 0; i < image.size(); ++i)
    image[i] = static_cast<uint8_t>(std::lround(std::clamp(values[i], 0.0f, 1.0f) * 255.0f));
}

std::vector<float> read_h5_array(const H5::H5File& file, const std::string& name,
                                 std::vector<hsize_t>& shape) {
  const H5::DataSet dataset = file.openDataSet(name);
  const H5::DataSpace space = dataset.getSpace();
  shape.assign(static_cast<size_t>(space.getSimpleExtentNdims()), 0);
  space.getSimpleExtentDims(shape.data());
  std::vector<float> values(static_cast<size_t>(space.getSimpleExtentNpoints()));
  dataset.read(values.data(), H5::PredType::NATIVE_FLOAT);
  return values;
}

bool load_volume(const fs::path& path, const std::string& name, Volume& volume,
                 std::string& problem) {
  if (!fs::is_regular_file(path)) {
    problem = "test volume " + path.string() + " is missing";
    return false;
  }
  h5::silence_error_stack();
  std::vector<float> image, label;
  std::vector<hsize_t> image_shape, label_shape;
  try {
    const H5::H5File file(path.string(), H5F_ACC_RDONLY);
    if (!file.nameExists("image") || !file.nameExists("label")) {
      problem = path.string() + " lacks the datasets 'image' and 'label'";
      return false;
    }
    image = read_h5_array(file, "image", image_shape);
    label = read_h5_array(file, "label", label_shape);
  } catch (const H5::Exception& error) {
    problem = path.string() + ": cannot read as HDF5 (" + error.getDetailMsg() + ")";
    return false;
  }
  if (image_shape.size() != 3 || image_shape != label_shape) {
    problem = path.string() + ": 'image' and 'label' must be [slices, height, width] alike";
    return false;
  }
  volume.name = name;
  volume.depth = static_cast<int64_t>(image_shape[0]);
  volume.height = static_cast<int64_t>(image_shape[1]);
  volume.width = static_cast<int64_t>(image_shape[2]);
  volume.image = std::move(image);
  return to_unit_range(volume.image, path.string() + ":image", problem) &&
         to_labels(label, volume.label, path.string() + ":label", problem);
}

}  // namespace

PrepareSummary prepare_synapse(const SynapseOptions& options) {
  if (options.root.empty()) throw Error(std::string(kCommand) + ": --root is required");
  check_sizes(options.sizes, options.out, kCommand);
  const fs::path root(options.root);
  const std::vector<std::string> train = read_list(root / "lists/lists_Synapse/train.txt");
  const std::vector<std::string> test = read_list(root / "lists/lists_Synapse/test_vol.txt");

  std::vector<std::unique_ptr<DatasetWriter>> writers;
  for (int size : options.sizes) {
    DatasetMeta meta;
    meta.name = options.name;
    meta.task = Task::multiclass;
    meta.class_names = synapse_class_names();
    meta.resolution = size;
    meta.source = "vmunet prepare synapse --root " + options.root + " (TransUNet layout)";
    writers.push_back(
        std::make_unique<DatasetWriter>(output_path(options.out, size), meta, options.gzip_level));
  }

  PrepareSummary summary;
  ProgressBar progress("prepare synapse", static_cast<int64_t>(train.size() + test.size()));
  std::vector<uint8_t> image, label;
  for (const std::string& name : train) {
    Slice slice;
    std::string problem;
    if (load_slice(root / "train_npz" / (name + ".npz"), slice, problem)) {
      for (size_t s = 0; s < options.sizes.size(); ++s) {
        resize_slice(slice, options.sizes[s], image, label);
        writers[s]->append("train", image.data(), label.data(), options.sizes[s], options.sizes[s],
                           1, name);
      }
    } else {
      report_problem(problem, options.strict, summary);
    }
    progress.advance();
  }
  for (const std::string& name : test) {
    Volume volume;
    std::string problem;
    if (load_volume(root / "test_vol_h5" / (name + ".npy.h5"), name, volume, problem)) {
      for (auto& writer : writers) writer->add_volume(volume);
      ++summary.volumes;
    } else {
      report_problem(problem, options.strict, summary);
    }
    progress.advance();
  }
  progress.finish();
  commit_writers(writers, options.out, options.sizes, summary);
  return summary;
}

}  // namespace vmunet
