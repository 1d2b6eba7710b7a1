#include "storage/case_volumes_h5.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "storage/h5_util.h"

namespace vmunet {
namespace {

H5::H5File open_read(const std::string& path) {
  h5::silence_error_stack();
  if (!std::filesystem::is_regular_file(path)) throw Error(path + ": no such file");
  if (!VMUNET_H5(path + ": probing the file", H5::H5File::isHdf5(path)))
    throw Error(path + ": not an HDF5 file");
  return VMUNET_H5(path + ": opening", H5::H5File(path, H5F_ACC_RDONLY));
}

std::vector<hsize_t> shape_of(const H5::DataSet& d) {
  const H5::DataSpace space = d.getSpace();
  std::vector<hsize_t> shape(static_cast<size_t>(space.getSimpleExtentNdims()));
  space.getSimpleExtentDims(shape.data());
  return shape;
}

}  // namespace

void write_case_volume(const std::string& path, const std::string& case_name,
                       const std::string& dataset, const Volume3<uint8_t>& v) {
  h5::silence_error_stack();
  const std::string where = path + ": /" + case_name + "/" + dataset;
  VMUNET_H5(where + ": writing", [&] {
    H5::H5File file = std::filesystem::exists(path) ? H5::H5File(path, H5F_ACC_RDWR)
                                                    : H5::H5File(path, H5F_ACC_TRUNC);
    H5::Group group =
        file.nameExists(case_name) ? file.openGroup(case_name) : file.createGroup(case_name);
    if (group.nameExists(dataset)) group.unlink(dataset);
    const std::vector<hsize_t> dims{static_cast<hsize_t>(v.depth), static_cast<hsize_t>(v.height),
                                    static_cast<hsize_t>(v.width)};
    const std::vector<hsize_t> chunk{1, dims[1], dims[2]};
    H5::DataSet d = group.createDataSet(
        dataset, H5::PredType::STD_U8LE, H5::DataSpace(3, dims.data()),
        v.values.empty() ? H5::DSetCreatPropList() : h5::dataset_properties(chunk, 4));
    if (!v.values.empty()) d.write(v.values.data(), H5::PredType::NATIVE_UINT8);
    return 0;
  }());
}

std::vector<std::string> case_names(const std::string& path) {
  const H5::H5File file = open_read(path);
  return VMUNET_H5(path + ": listing cases", [&] {
    std::vector<std::string> names;
    for (hsize_t i = 0; i < file.getNumObjs(); ++i)
      if (file.getObjTypeByIdx(i) == H5G_GROUP) names.push_back(file.getObjnameByIdx(i));
    std::sort(names.begin(), names.end());
    return names;
  }());
}

bool has_case_volume(const std::string& path, const std::string& case_name,
                     const std::string& dataset) {
  const H5::H5File file = open_read(path);
  return VMUNET_H5(path + ": looking up /" + case_name + "/" + dataset,
                   file.nameExists(case_name) && file.openGroup(case_name).nameExists(dataset));
}

Volume3<uint8_t> read_case_volume(const std::string& path, const std::string& case_name,
                                  const std::string& dataset) {
  const std::string where = path + ": /" + case_name + "/" + dataset;
  if (!has_case_volume(path, case_name, dataset)) throw Error(where + ": missing");
  const H5::H5File file = open_read(path);
  return VMUNET_H5(where + ": reading", [&] {
    const H5::DataSet d = file.openGroup(case_name).openDataSet(dataset);
    const auto shape = shape_of(d);
    if (shape.size() != 3) throw Error(where + ": expected 3 dimensions [D, H, W]");
    if (d.getTypeClass() != H5T_INTEGER || d.getDataType().getSize() != 1)
      throw Error(where + ": element type is not uint8 (store class ids as uint8)");
    Volume3<uint8_t> v{static_cast<int64_t>(shape[0]),
                       static_cast<int64_t>(shape[1]),
                       static_cast<int64_t>(shape[2]),
                       {}};
    v.values.resize(shape[0] * shape[1] * shape[2]);
    if (!v.values.empty()) d.read(v.values.data(), H5::PredType::NATIVE_UINT8);
    return v;
  }());
}

Volume3<float> read_float_volume(const std::string& path, const std::string& dataset) {
  const std::string where = path + ": /" + dataset;
  const H5::H5File file = open_read(path);
  if (!VMUNET_H5(where, file.nameExists(dataset))) throw Error(where + ": missing");
  return VMUNET_H5(where + ": reading", [&] {
    const H5::DataSet d = file.openDataSet(dataset);
    auto shape = shape_of(d);
    if (shape.size() == 2) shape.insert(shape.begin(), 1);
    if (shape.size() != 3) throw Error(where + ": expected [D, H, W] or [H, W]");
    const H5T_class_t type = d.getTypeClass();
    if (type != H5T_FLOAT && type != H5T_INTEGER) throw Error(where + ": not numeric");
    Volume3<float> v{static_cast<int64_t>(shape[0]),
                     static_cast<int64_t>(shape[1]),
                     static_cast<int64_t>(shape[2]),
                     {}};
    v.values.resize(shape[0] * shape[1] * shape[2]);
    if (!v.values.empty()) d.read(v.values.data(), H5::PredType::NATIVE_FLOAT);
    return v;
  }());
}

bool h5_root_has(const std::string& path, const std::string& name) {
  const H5::H5File file = open_read(path);
  return VMUNET_H5(path + ": looking up " + name, file.nameExists(name) || file.attrExists(name));
}

}  // namespace vmunet
