#include "storage/h5_util.h"

#include "common/error.h"

namespace vmunet::h5 {
namespace {

H5::StrType variable_string() {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  return type;
}

H5::Attribute open_attribute(const H5::H5Object& object, const std::string& name,
                             H5T_class_t type_class, const std::string& where) {
  if (!object.attrExists(name))
    throw Error(where + ": attribute '" + name + "' is missing; not a vmunet dataset file?");
  H5::Attribute attribute = object.openAttribute(name);
  if (attribute.getTypeClass() != type_class)
    throw Error(where + ": attribute '" + name + "' has the wrong type");
  return attribute;
}

// Fixed-length strings (h5py writes numpy bytes this way): NUL- or space-padded fields.
std::vector<std::string> read_fixed_strings(const H5::AbstractDs& source,
                                            const H5::DataSpace& space, bool is_attribute) {
  const H5::StrType type = source.getStrType();
  const size_t width = type.getSize();
  const auto count = static_cast<size_t>(space.getSimpleExtentNpoints());
  std::vector<char> buffer(width * count);
  if (buffer.empty()) return std::vector<std::string>(count);
  if (is_attribute)
    static_cast<const H5::Attribute&>(source).read(type, buffer.data());
  else
    static_cast<const H5::DataSet&>(source).read(buffer.data(), type);
  std::vector<std::string> values;
  for (size_t i = 0; i < count; ++i) {
    std::string value(buffer.data() + i * width, width);
    value.erase(value.find_last_not_of(std::string(" \0", 2)) + 1);
    values.push_back(value.substr(0, value.find('\0')));
  }
  return values;
}

std::vector<std::string> read_variable_strings(const H5::AbstractDs& source,
                                               const H5::DataSpace& space, bool is_attribute) {
  if (!source.getStrType().isVariableStr()) return read_fixed_strings(source, space, is_attribute);
  const H5::StrType type = variable_string();
  std::vector<char*> buffer(static_cast<size_t>(space.getSimpleExtentNpoints()), nullptr);
  if (buffer.empty()) return {};
  if (is_attribute)
    static_cast<const H5::Attribute&>(source).read(type, buffer.data());
  else
    static_cast<const H5::DataSet&>(source).read(buffer.data(), type);
  std::vector<std::string> values(buffer.begin(), buffer.end());
  H5Dvlen_reclaim(type.getId(), space.getId(), H5P_DEFAULT, buffer.data());
  return values;
}

}  // namespace

void fail(const char* file, int line, const std::string& what, const H5::Exception& error) {
  std::string detail = error.getDetailMsg();
  if (detail.empty()) detail = error.getFuncName();
  fail_at(file, line, what + ": " + detail);
}

void silence_error_stack() { H5::Exception::dontPrint(); }

H5::DSetCreatPropList dataset_properties(const std::vector<hsize_t>& chunk, int gzip_level) {
  H5::DSetCreatPropList properties;
  properties.setChunk(static_cast<int>(chunk.size()), chunk.data());
  if (gzip_level > 0) properties.setDeflate(gzip_level);
  H5Pset_obj_track_times(properties.getId(), false);
  return properties;
}

void write_attribute(const H5::H5Object& object, const std::string& name, int64_t value) {
  object.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_INT64, &value);
}

void write_attribute(const H5::H5Object& object, const std::string& name, double value) {
  object.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_DOUBLE, &value);
}

void write_attribute(const H5::H5Object& object, const std::string& name,
                     const std::string& value) {
  const H5::StrType type = variable_string();
  const char* data = value.c_str();
  object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, &data);
}

void write_attribute(const H5::H5Object& object, const std::string& name,
                     const std::vector<std::string>& values) {
  const H5::StrType type = variable_string();
  const hsize_t count = values.size();
  std::vector<const char*> data;
  for (const auto& value : values) data.push_back(value.c_str());
  object.createAttribute(name, type, H5::DataSpace(1, &count)).write(type, data.data());
}

int64_t read_int_attribute(const H5::H5Object& object, const std::string& name,
                           const std::string& where) {
  int64_t value = 0;
  open_attribute(object, name, H5T_INTEGER, where).read(H5::PredType::NATIVE_INT64, &value);
  return value;
}

double read_double_attribute(const H5::H5Object& object, const std::string& name,
                             const std::string& where) {
  double value = 0;
  open_attribute(object, name, H5T_FLOAT, where).read(H5::PredType::NATIVE_DOUBLE, &value);
  return value;
}

std::string read_string_attribute(const H5::H5Object& object, const std::string& name,
                                  const std::string& where) {
  const H5::Attribute attribute = open_attribute(object, name, H5T_STRING, where);
  const H5::DataSpace space = attribute.getSpace();
  if (space.getSimpleExtentNpoints() != 1)
    throw Error(where + ": attribute '" + name + "' should hold one string");
  return read_variable_strings(attribute, space, true).front();
}

std::vector<std::string> read_string_array_attribute(const H5::H5Object& object,
                                                     const std::string& name,
                                                     const std::string& where) {
  const H5::Attribute attribute = open_attribute(object, name, H5T_STRING, where);
  return read_variable_strings(attribute, attribute.getSpace(), true);
}

void write_strings(const H5::Group& group, const std::string& name,
                   const std::vector<std::string>& values) {
  const H5::StrType type = variable_string();
  const hsize_t count = values.size();
  std::vector<const char*> data;
  for (const auto& value : values) data.push_back(value.c_str());
  H5::DSetCreatPropList properties;
  H5Pset_obj_track_times(properties.getId(), false);
  const H5::DataSet dataset = group.createDataSet(name, type, H5::DataSpace(1, &count), properties);
  if (count > 0) dataset.write(data.data(), type);
}

std::vector<std::string> read_strings(const H5::DataSet& dataset, const std::string& where) {
  if (dataset.getTypeClass() != H5T_STRING)
    throw Error(where + ": expected strings, found another type");
  const H5::DataSpace space = dataset.getSpace();
  if (space.getSimpleExtentNdims() != 1) throw Error(where + ": expected a 1-D list of strings");
  return read_variable_strings(dataset, space, false);
}

}  // namespace vmunet::h5
