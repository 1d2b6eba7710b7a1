// HDF5 helpers shared by the dataset writer and reader: a macro that turns an HDF5 exception into
// one vmunet::Error line naming the operation and file:line, and typed attribute and string access.
#pragma once

#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vmunet::h5 {

[[noreturn]] void fail(const char* file, int line, const std::string& what,
                       const H5::Exception& error);

// Stops HDF5 printing its error stack to stderr: failures are reported through Error instead.
void silence_error_stack();

// Chunked, optionally gzip-compressed dataset properties without timestamps, so that the same
// data gives byte-identical files.
H5::DSetCreatPropList dataset_properties(const std::vector<hsize_t>& chunk, int gzip_level);

void write_attribute(const H5::H5Object& object, const std::string& name, int64_t value);
void write_attribute(const H5::H5Object& object, const std::string& name, double value);
void write_attribute(const H5::H5Object& object, const std::string& name, const std::string& value);
void write_attribute(const H5::H5Object& object, const std::string& name,
                     const std::vector<std::string>& values);

// Readers throw Error("<where>: attribute '<name>' ...") when it is missing or of another type.
int64_t read_int_attribute(const H5::H5Object& object, const std::string& name,
                           const std::string& where);
double read_double_attribute(const H5::H5Object& object, const std::string& name,
                             const std::string& where);
std::string read_string_attribute(const H5::H5Object& object, const std::string& name,
                                  const std::string& where);
std::vector<std::string> read_string_array_attribute(const H5::H5Object& object,
                                                     const std::string& name,
                                                     const std::string& where);

// Variable-length UTF-8 strings as a 1-D dataset.
void write_strings(const H5::Group& group, const std::string& name,
                   const std::vector<std::string>& values);
std::vector<std::string> read_strings(const H5::DataSet& dataset, const std::string& where);

}  // namespace vmunet::h5

// Runs an HDF5 statement or expression; an H5::Exception becomes
// Error("<what>: <HDF5 message> (<file>:<line>)"). `what` should name the file and the object.
#define VMUNET_H5(what, ...)                                    \
  [&]() -> decltype(auto) {                                     \
    try {                                                       \
      return __VA_ARGS__;                                       \
    } catch (const H5::Exception& h5_error) {                   \
      ::vmunet::h5::fail(__FILE__, __LINE__, (what), h5_error); \
    }                                                           \
  }()
