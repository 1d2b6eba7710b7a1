#include "storage/npz.h"

#include <zip.h>

#include <memory>

#include "common/error.h"

namespace vmunet {
namespace {

// A libzip status check naming the operation and the archive's own error text.
#define VMUNET_ZIP(ok, archive, what)                                                            \
  do {                                                                                           \
    if (!(ok))                                                                                   \
      ::vmunet::fail_at(__FILE__, __LINE__, (what) + std::string(": ") + zip_strerror(archive)); \
  } while (0)

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};

}  // namespace

std::map<std::string, NpyArray> read_npz(const std::string& path) {
  int code = 0;
  std::unique_ptr<zip_t, ArchiveCloser> archive(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (!archive) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    const std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(path + ": cannot open as a .npz (zip) archive: " + message);
  }
  std::map<std::string, NpyArray> arrays;
  const zip_int64_t entries = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < entries; ++i) {
    zip_stat_t stat;
    const auto index = static_cast<zip_uint64_t>(i);
    VMUNET_ZIP(zip_stat_index(archive.get(), index, 0, &stat) == 0, archive.get(),
               path + ": reading the directory");
    const std::string name = stat.name;
    const std::string where = path + ":" + name;
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".npy") != 0)
      throw Error(where + ": member is not a .npy array");
    std::vector<uint8_t> bytes(stat.size);
    zip_file_t* file = zip_fopen_index(archive.get(), index, 0);
    VMUNET_ZIP(file != nullptr, archive.get(), where + ": opening the member");
    const zip_int64_t read = zip_fread(file, bytes.data(), bytes.size());
    // libzip checks the CRC when a read finds the end, so read once more: that must give 0.
    uint8_t extra = 0;
    const zip_int64_t after = zip_fread(file, &extra, 1);
    const std::string file_error = zip_file_strerror(file);
    zip_fclose(file);
    if (read < 0 || static_cast<zip_uint64_t>(read) != stat.size || after != 0)
      throw Error(where + ": damaged member (" + file_error + ")");
    arrays.emplace(name.substr(0, name.size() - 4), parse_npy(bytes, where));
  }
  return arrays;
}

}  // namespace vmunet
