// Dataset files (layout in storage/dataset.h): a streaming writer for `prepare`, and a reader that
// loads a whole file into memory after checking its format version, attributes, shapes, dtypes and
// value ranges. Every failure is one Error line naming the file, the HDF5 object and the problem.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "storage/dataset.h"

namespace vmunet {

// Writes samples as they come, so a dataset larger than memory can be prepared. The file is built
// as "<path>.partial" and renamed onto <path> by commit(): an interrupted prepare never leaves a
// file that looks complete.
class DatasetWriter {
 public:
  // meta.train_norm, test_norm, format_version and tool_version are filled in by commit().
  DatasetWriter(const std::string& path, DatasetMeta meta, int gzip_level = 4);
  ~DatasetWriter();  // removes the partial file unless commit() succeeded
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;

  // One sample of split "train" or "test": image [height, width, channels], mask [height, width];
  // height and width must equal meta.resolution and mask values must be valid classes.
  void append(const std::string& split, const uint8_t* image, const uint8_t* mask, int64_t height,
              int64_t width, int64_t channels, const std::string& name);
  void add_volume(const Volume& volume);
  int64_t count(const std::string& split) const;

  // Computes each split's normalisation constants, writes the root attributes, checks that the
  // splits are complete and consistent, and moves the file into place.
  void commit();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Writes a whole in-memory dataset (meta's normalisation constants are recomputed).
void write_dataset(const std::string& path, const Dataset& data, int gzip_level = 4);

// Root attributes only, checked; cheap.
DatasetMeta read_dataset_meta(const std::string& path);

// The whole file, checked as check_dataset() does.
Dataset read_dataset(const std::string& path);

}  // namespace vmunet
