#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/h5_util.h"
#include "storage/run_environment.h"

namespace vmunet {
namespace {

// Chunks of whole images, about 256 KiB each: whole-file reads stay fast and appends stay cheap.
hsize_t images_per_chunk(int64_t image_bytes) {
  return static_cast<hsize_t>(
      std::clamp<int64_t>((256 << 10) / std::max<int64_t>(image_bytes, 1), 1, 256));
}

H5::DataSet create_growing(const H5::Group& group, const std::string& name,
                           std::vector<hsize_t> item_shape, int gzip_level) {
  int64_t item_bytes = 1;
  for (hsize_t d : item_shape) item_bytes *= static_cast<int64_t>(d);
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{images_per_chunk(item_bytes)};
  for (hsize_t d : item_shape) {
    dims.push_back(d);
    max_dims.push_back(d);
    chunk.push_back(d);
  }
  const H5::DataSpace space(static_cast<int>(dims.size()), dims.data(), max_dims.data());
  return group.createDataSet(name, H5::PredType::STD_U8LE, space,
                             h5::dataset_properties(chunk, gzip_level));
}

// Writes one item [1, ...] at index `row` of a growing dataset, extending it by one.
void append_row(H5::DataSet& dataset, hsize_t row, const uint8_t* data) {
  const H5::DataSpace current = dataset.getSpace();
  std::vector<hsize_t> dims(static_cast<size_t>(current.getSimpleExtentNdims()));
  current.getSimpleExtentDims(dims.data());
  dims[0] = row + 1;
  dataset.extend(dims.data());
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = row;
  count[0] = 1;
  H5::DataSpace file_space = dataset.getSpace();
  file_space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
  const H5::DataSpace memory_space(static_cast<int>(count.size()), count.data());
  dataset.write(data, H5::PredType::NATIVE_UINT8, memory_space, file_space);
}

}  // namespace

struct DatasetWriter::State {
  struct Split {
    H5::Group group;
    H5::DataSet images, masks;
    int64_t count = 0, channels = 0;
    std::vector<std::string> names;
    PixelStatistics statistics;
  };

  std::string path, partial_path;
  DatasetMeta meta;
  int gzip_level;
  H5::H5File file;
  Split train, test;
  H5::Group volumes;
  bool committed = false;

  Split& split(const std::string& name) {
    if (name == "train") return train;
    if (name == "test") return test;
    throw Error(path + ": unknown split '" + name + "' (expected train or test)");
  }

  void open_group(Split& split, const std::string& name) {
    if (split.group.getId() == H5I_INVALID_HID)
      VMUNET_H5(partial_path + ": creating /" + name, split.group = file.createGroup(name));
  }

  // Creates the split's datasets on first use, or empty ones at commit for a split never used.
  void open_split(Split& split, const std::string& name, int64_t channels) {
    if (split.images.getId() != H5I_INVALID_HID) return;
    const auto side = static_cast<hsize_t>(meta.resolution);
    const std::string what = partial_path + ": creating /" + name;
    open_group(split, name);
    VMUNET_H5(what,
              split.images = create_growing(
                  split.group, "images", {side, side, static_cast<hsize_t>(channels)}, gzip_level));
    VMUNET_H5(what, split.masks = create_growing(split.group, "masks", {side, side}, gzip_level));
    split.channels = channels;
  }
};

DatasetWriter::DatasetWriter(const std::string& path, DatasetMeta meta, int gzip_level)
    : state_(std::make_unique<State>()) {
  if (gzip_level < 0 || gzip_level > 9)
    throw Error(path + ": gzip level " + std::to_string(gzip_level) + " is not in 0..9");
  h5::silence_error_stack();
  state_->path = path;
  state_->partial_path = path + ".partial";
  state_->gzip_level = gzip_level;
  meta.format_version = kDatasetFormatVersion;
  meta.tool_version = code_version();
  if (meta.resolution <= 0)
    throw Error(path + ": resolution " + std::to_string(meta.resolution) + " is not positive");
  state_->meta = std::move(meta);
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  VMUNET_H5(state_->partial_path + ": creating the file",
            state_->file = H5::H5File(state_->partial_path, H5F_ACC_TRUNC));
}

DatasetWriter::~DatasetWriter() {
  if (state_->committed) return;
  try {
    state_->file.close();
  } catch (const H5::Exception&) {
    // The file is being discarded; its close error changes nothing.
  }
  std::remove(state_->partial_path.c_str());
}

void DatasetWriter::append(const std::string& split_name, const uint8_t* image, const uint8_t* mask,
                           int64_t height, int64_t width, int64_t channels,
                           const std::string& name) {
  State& s = *state_;
  State::Split& split = s.split(split_name);
  const std::string where =
      s.path + ": /" + split_name + " sample " + std::to_string(split.count) + " (" + name + ")";
  if (height != s.meta.resolution || width != s.meta.resolution)
    throw Error(where + " is " + std::to_string(height) + "x" + std::to_string(width) +
                ", the dataset's resolution is " + std::to_string(s.meta.resolution));
  const int64_t other_channels = (&split == &s.train ? s.test : s.train).channels;
  if ((channels != 1 && channels != 3) || (other_channels && other_channels != channels))
    throw Error(where + " has " + std::to_string(channels) +
                " channels; expected 1 or 3, the same in both splits");
  check_mask_values(mask, {height, width}, s.meta, where + " mask");
  s.open_split(split, split_name, channels);
  if (channels != split.channels)
    throw Error(where + " has " + std::to_string(channels) + " channels, earlier samples " +
                std::to_string(split.channels));
  const auto row = static_cast<hsize_t>(split.count);
  VMUNET_H5(where + ": writing the image", append_row(split.images, row, image));
  VMUNET_H5(where + ": writing the mask", append_row(split.masks, row, mask));
  split.statistics.add(image, static_cast<size_t>(height * width * channels));
  split.names.push_back(name);
  ++split.count;
}

void DatasetWriter::add_volume(const Volume& volume) {
  State& s = *state_;
  const std::string where = s.path + ": /test/volumes/" + volume.name;
  const int64_t voxels = volume.depth * volume.height * volume.width;
  if (volume.name.empty() || volume.name.find('/') != std::string::npos)
    throw Error(where + ": a volume needs a non-empty name without '/'");
  if (voxels <= 0 || static_cast<int64_t>(volume.image.size()) != voxels ||
      static_cast<int64_t>(volume.label.size()) != voxels)
    throw Error(where + ": image and label must both hold depth*height*width > 0 values");
  check_volume_image(volume, where + "/image");
  check_mask_values(volume.label.data(), {volume.depth, volume.height, volume.width}, s.meta,
                    where + "/label");
  VMUNET_H5(where + ": writing", [&] {
    if (s.volumes.getId() == H5I_INVALID_HID) {
      s.open_group(s.test, "test");
      s.volumes = s.test.group.createGroup("volumes");
    }
    if (s.volumes.nameExists(volume.name)) throw Error(where + ": a volume of that name exists");
    const H5::Group group = s.volumes.createGroup(volume.name);
    const std::vector<hsize_t> dims{static_cast<hsize_t>(volume.depth),
                                    static_cast<hsize_t>(volume.height),
                                    static_cast<hsize_t>(volume.width)};
    const std::vector<hsize_t> chunk{1, dims[1], dims[2]};
    const H5::DataSpace space(3, dims.data());
    group
        .createDataSet("image", H5::PredType::IEEE_F32LE, space,
                       h5::dataset_properties(chunk, s.gzip_level))
        .write(volume.image.data(), H5::PredType::NATIVE_FLOAT);
    group
        .createDataSet("label", H5::PredType::STD_U8LE, space,
                       h5::dataset_properties(chunk, s.gzip_level))
        .write(volume.label.data(), H5::PredType::NATIVE_UINT8);
  }());
}

int64_t DatasetWriter::count(const std::string& split) const { return state_->split(split).count; }

void DatasetWriter::commit() {
  State& s = *state_;
  if (s.train.count == 0) throw Error(s.path + ": no training samples to write");
  if (s.test.count == 0 && s.volumes.getId() == H5I_INVALID_HID)
    throw Error(s.path + ": no test samples or volumes to write");
  s.meta.train_norm = s.train.statistics.result();
  // A test split of volumes only has no uint8 images; it shares the training constants.
  s.meta.test_norm = s.test.count ? s.test.statistics.result() : s.meta.train_norm;
  check_meta(s.meta, s.path);
  VMUNET_H5(s.partial_path + ": writing names and attributes", [&] {
    s.open_split(s.test, "test", s.train.channels);
    for (auto* split : {&s.train, &s.test}) h5::write_strings(split->group, "names", split->names);
    const H5::Group root = s.file.openGroup("/");
    h5::write_attribute(root, "format_version", static_cast<int64_t>(s.meta.format_version));
    h5::write_attribute(root, "name", s.meta.name);
    h5::write_attribute(root, "task", std::string(task_name(s.meta.task)));
    h5::write_attribute(root, "class_names", s.meta.class_names);
    h5::write_attribute(root, "resolution", static_cast<int64_t>(s.meta.resolution));
    h5::write_attribute(root, "norm_train_mean", s.meta.train_norm.mean);
    h5::write_attribute(root, "norm_train_std", s.meta.train_norm.std);
    h5::write_attribute(root, "norm_test_mean", s.meta.test_norm.mean);
    h5::write_attribute(root, "norm_test_std", s.meta.test_norm.std);
    h5::write_attribute(root, "source", s.meta.source);
    h5::write_attribute(root, "tool_version", s.meta.tool_version);
    s.train = {};
    s.test = {};
    s.volumes = H5::Group();
    s.file.close();
  }());
  std::error_code error;
  std::filesystem::rename(s.partial_path, s.path, error);
  if (error)
    throw Error(s.path + ": cannot move " + s.partial_path + " into place: " + error.message());
  s.committed = true;
}

void write_dataset(const std::string& path, const Dataset& data, int gzip_level) {
  DatasetWriter writer(path, data.meta, gzip_level);
  for (const auto& [name, set] :
       {std::pair<const char*, const ImageSet*>{"train", &data.train}, {"test", &data.test}}) {
    const int64_t image_size = set->height * set->width * set->channels;
    const int64_t mask_size = set->height * set->width;
    if (static_cast<int64_t>(set->images.size()) != set->count * image_size ||
        static_cast<int64_t>(set->masks.size()) != set->count * mask_size ||
        static_cast<int64_t>(set->names.size()) != set->count)
      throw Error(path + ": the in-memory /" + name + " split's sizes disagree with its count");
    for (int64_t i = 0; i < set->count; ++i)
      writer.append(name, set->images.data() + i * image_size, set->masks.data() + i * mask_size,
                    set->height, set->width, set->channels, set->names[i]);
  }
  for (const Volume& volume : data.volumes) writer.add_volume(volume);
  writer.commit();
}

}  // namespace vmunet
