#include <filesystem>
#include <new>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/h5_util.h"

namespace vmunet {
namespace {

const std::string kPrepareHint = "; re-create it with vmunet prepare";
const std::string kDamagedHint = " (truncated or damaged? re-create it with vmunet prepare)";

H5::H5File open_file(const std::string& path) {
  namespace fs = std::filesystem;
  h5::silence_error_stack();
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status))
    throw Error(path + ": no such dataset file; create it with vmunet prepare");
  if (fs::is_directory(status))
    throw Error(path +
                ": is a directory, not a dataset file; give the .h5 file vmunet prepare wrote");
  if (!fs::is_regular_file(status))
    throw Error(path + ": is a device or special file, not a dataset file; give the .h5 file " +
                "vmunet prepare wrote");
  if (fs::file_size(path, ec) == 0)
    throw Error(path + ": is empty, not a dataset file" + kPrepareHint);
  bool is_hdf5 = false;
  try {
    is_hdf5 = H5::H5File::isHdf5(path);
  } catch (const H5::Exception&) {
  }
  if (!is_hdf5) throw Error(path + ": not an HDF5 file" + kPrepareHint);
  try {
    return H5::H5File(path, H5F_ACC_RDONLY);
  } catch (const H5::Exception&) {
    throw Error(path + ": HDF5 cannot open it (truncated or damaged?)" + kPrepareHint);
  }
}

// Bytes a dataset's elements take in memory, after checking that the file can hold them: a
// damaged or hostile header may declare billions of elements, and allocating them would fail far
// from the file's name. Chunks compress by at most about 1000:1 (deflate's limit is 1032:1).
size_t checked_bytes(const H5::DataSet& dataset, const std::vector<hsize_t>& shape,
                     size_t element_size, uintmax_t file_size, const std::string& where) {
  uint64_t bytes = element_size;
  for (hsize_t d : shape)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes))
      throw Error(where + ": declared shape is too large to be real" + kPrepareHint);
  const uint64_t stored = H5Dget_storage_size(dataset.getId());
  if (bytes > 0 && (stored > file_size || bytes / 1100 > stored))
    throw Error(where + ": declares " + std::to_string(bytes) + " bytes of data but the file " +
                "stores " + std::to_string(stored) + " (damaged or truncated?)" + kPrepareHint);
  return static_cast<size_t>(bytes);
}

// Resizes `buffer`, naming the dataset if memory runs out.
template <typename T>
void allocate(std::vector<T>& buffer, size_t bytes, const std::string& where) {
  try {
    buffer.resize(bytes / sizeof(T));
  } catch (const std::bad_alloc&) {
    throw Error(where + ": needs " + std::to_string(bytes >> 20) +
                " MiB of memory, more than this machine can give");
  }
}

// Opens `name` under `group`, checking its element type and rank; returns its shape.
H5::DataSet open_dataset(const H5::Group& group, const std::string& name, H5T_class_t type_class,
                         size_t type_size, int rank, const std::string& where,
                         std::vector<hsize_t>& shape) {
  const std::string type_text = type_class == H5T_FLOAT ? "float" + std::to_string(8 * type_size)
                                                        : "uint" + std::to_string(8 * type_size);
  if (!group.nameExists(name)) throw Error(where + ": missing" + kPrepareHint);
  H5::DataSet dataset = group.openDataSet(name);
  const H5T_class_t found_class = dataset.getTypeClass();
  const bool is_unsigned =
      found_class != H5T_INTEGER || dataset.getIntType().getSign() == H5T_SGN_NONE;
  if (found_class != type_class || dataset.getDataType().getSize() != type_size || !is_unsigned)
    throw Error(where + ": element type is not " + type_text + kPrepareHint);
  const H5::DataSpace space = dataset.getSpace();
  if (space.getSimpleExtentNdims() != rank)
    throw Error(where + ": has " + std::to_string(space.getSimpleExtentNdims()) +
                " dimensions, expected " + std::to_string(rank) + kPrepareHint);
  shape.assign(static_cast<size_t>(rank), 0);
  space.getSimpleExtentDims(shape.data());
  return dataset;
}

ImageSet read_split(const H5::H5File& file, const std::string& split, const std::string& path,
                    uintmax_t file_size) {
  const std::string where = path + ": /" + split;
  if (!file.nameExists(split)) throw Error(where + ": group missing" + kPrepareHint);
  const H5::Group group = file.openGroup(split);
  std::vector<hsize_t> image_shape, mask_shape;
  const H5::DataSet images =
      open_dataset(group, "images", H5T_INTEGER, 1, 4, where + "/images", image_shape);
  const H5::DataSet masks =
      open_dataset(group, "masks", H5T_INTEGER, 1, 3, where + "/masks", mask_shape);
  if (mask_shape[0] != image_shape[0] || mask_shape[1] != image_shape[1] ||
      mask_shape[2] != image_shape[2])
    throw Error(where + "/masks: shape [" + std::to_string(mask_shape[0]) + ", " +
                std::to_string(mask_shape[1]) + ", " + std::to_string(mask_shape[2]) +
                "] does not match /images [" + std::to_string(image_shape[0]) + ", " +
                std::to_string(image_shape[1]) + ", " + std::to_string(image_shape[2]) + ", ...]" +
                kPrepareHint);
  if (!group.nameExists("names")) throw Error(where + "/names: missing" + kPrepareHint);
  ImageSet set;
  set.count = static_cast<int64_t>(image_shape[0]);
  set.height = static_cast<int64_t>(image_shape[1]);
  set.width = static_cast<int64_t>(image_shape[2]);
  set.channels = static_cast<int64_t>(image_shape[3]);
  allocate(set.images, checked_bytes(images, image_shape, 1, file_size, where + "/images"),
           where + "/images");
  allocate(set.masks, checked_bytes(masks, mask_shape, 1, file_size, where + "/masks"),
           where + "/masks");
  if (set.count > 0) {
    images.read(set.images.data(), H5::PredType::NATIVE_UINT8);
    masks.read(set.masks.data(), H5::PredType::NATIVE_UINT8);
  }
  set.names = h5::read_strings(group.openDataSet("names"), where + "/names");
  return set;
}

std::vector<Volume> read_volumes(const H5::H5File& file, const std::string& path,
                                 uintmax_t file_size) {
  std::vector<Volume> volumes;
  if (!file.nameExists("test") || !file.openGroup("test").nameExists("volumes")) return volumes;
  const H5::Group group = file.openGroup("/test/volumes");
  for (hsize_t i = 0; i < group.getNumObjs(); ++i) {
    Volume volume;
    volume.name = group.getObjnameByIdx(i);
    const std::string where = path + ": /test/volumes/" + volume.name;
    if (group.childObjType(volume.name) != H5O_TYPE_GROUP)
      throw Error(where + ": expected a group holding image and label" + kPrepareHint);
    const H5::Group case_group = group.openGroup(volume.name);
    std::vector<hsize_t> image_shape, label_shape;
    const H5::DataSet image =
        open_dataset(case_group, "image", H5T_FLOAT, 4, 3, where + "/image", image_shape);
    const H5::DataSet label =
        open_dataset(case_group, "label", H5T_INTEGER, 1, 3, where + "/label", label_shape);
    if (image_shape != label_shape)
      throw Error(where + ": image and label shapes differ" + kPrepareHint);
    volume.depth = static_cast<int64_t>(image_shape[0]);
    volume.height = static_cast<int64_t>(image_shape[1]);
    volume.width = static_cast<int64_t>(image_shape[2]);
    allocate(volume.image, checked_bytes(image, image_shape, 4, file_size, where + "/image"),
             where + "/image");
    allocate(volume.label, checked_bytes(label, label_shape, 1, file_size, where + "/label"),
             where + "/label");
    image.read(volume.image.data(), H5::PredType::NATIVE_FLOAT);
    label.read(volume.label.data(), H5::PredType::NATIVE_UINT8);
    volumes.push_back(std::move(volume));
  }
  return volumes;
}

DatasetMeta read_meta(const H5::H5File& file, const std::string& path) {
  const H5::Group root = file.openGroup("/");
  DatasetMeta meta;
  meta.format_version = static_cast<int>(h5::read_int_attribute(root, "format_version", path));
  if (meta.format_version != kDatasetFormatVersion)  // the other attributes may differ
    check_meta(meta, path);
  meta.name = h5::read_string_attribute(root, "name", path);
  meta.task = parse_task(h5::read_string_attribute(root, "task", path), path);
  meta.class_names = h5::read_string_array_attribute(root, "class_names", path);
  meta.resolution = static_cast<int>(h5::read_int_attribute(root, "resolution", path));
  meta.train_norm.mean = h5::read_double_attribute(root, "norm_train_mean", path);
  meta.train_norm.std = h5::read_double_attribute(root, "norm_train_std", path);
  meta.test_norm.mean = h5::read_double_attribute(root, "norm_test_mean", path);
  meta.test_norm.std = h5::read_double_attribute(root, "norm_test_std", path);
  meta.source = h5::read_string_attribute(root, "source", path);
  meta.tool_version = h5::read_string_attribute(root, "tool_version", path);
  check_meta(meta, path);
  return meta;
}

}  // namespace

DatasetMeta read_dataset_meta(const std::string& path) {
  const H5::H5File file = open_file(path);
  return VMUNET_H5(path + ": reading the root attributes" + kDamagedHint, read_meta(file, path));
}

Dataset read_dataset(const std::string& path) {
  const H5::H5File file = open_file(path);
  Dataset data;
  data.meta =
      VMUNET_H5(path + ": reading the root attributes" + kDamagedHint, read_meta(file, path));
  const uintmax_t size = std::filesystem::file_size(path);
  data.train =
      VMUNET_H5(path + ": reading /train" + kDamagedHint, read_split(file, "train", path, size));
  data.test =
      VMUNET_H5(path + ": reading /test" + kDamagedHint, read_split(file, "test", path, size));
  data.volumes =
      VMUNET_H5(path + ": reading /test/volumes" + kDamagedHint, read_volumes(file, path, size));
  check_dataset(data, path);
  return data;
}

}  // namespace vmunet
