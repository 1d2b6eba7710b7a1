// The HDF5 dataset format: round trips of each dataset kind, the normalisation constants, tensors
// for the trainer, and one test per validation failure, each checking its message.
#include <gtest/gtest.h>

#include <H5Cpp.h>

#include <cmath>
#include <functional>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/dataset_tensors.h"
#include "test_storage_helpers.h"

namespace vmunet {
namespace {

using test::error_of;

using test::TempDir;

// Two 4x4 RGB training images and one test image; pixel values follow (i * 7 + k) % 256.
Dataset small_binary() {
  Dataset data;
  data.meta.name = "tiny";
  data.meta.task = Task::binary;
  data.meta.class_names = binary_class_names();
  data.meta.resolution = 4;
  data.meta.source = "hand-made";
  auto fill = [](ImageSet& set, int64_t count, int offset) {
    set = {count, 4, 4, 3, {}, {}, {}};
    for (int64_t k = 0; k < count * 48; ++k) set.images.push_back((offset + k * 7) % 256);
    for (int64_t k = 0; k < count * 16; ++k) set.masks.push_back((k / 3) % 2);
    for (int64_t i = 0; i < count; ++i) set.names.push_back("img" + std::to_string(offset + i));
  };
  fill(data.train, 2, 0);
  fill(data.test, 1, 100);
  return data;
}

Dataset small_multiclass() {
  Dataset data;
  data.meta.name = "tiny-ct";
  data.meta.task = Task::multiclass;
  data.meta.class_names = synapse_class_names();
  data.meta.resolution = 4;
  data.train = {3, 4, 4, 1, {}, {}, {"a", "b", "c"}};
  for (int k = 0; k < 48; ++k) {
    data.train.images.push_back(static_cast<uint8_t>(k * 5));
    data.train.masks.push_back(static_cast<uint8_t>(k % 9));
  }
  Volume volume;
  volume.name = "case0001";
  volume.depth = 2;
  volume.height = 3;
  volume.width = 5;
  for (int k = 0; k < 30; ++k) {
    volume.image.push_back(static_cast<float>(k) / 29.0f);
    volume.label.push_back(static_cast<uint8_t>((k * 4) % 9));
  }
  data.volumes.push_back(volume);
  return data;
}

// Writes a valid file and lets `edit` damage it through the HDF5 API; returns its path.
std::string write_and_edit(const Dataset& data, const std::function<void(H5::H5File&)>& edit,
                           const TempDir& dir) {
  const std::string path = dir / "edited.h5";
  write_dataset(path, data);
  H5::H5File file(path, H5F_ACC_RDWR);
  edit(file);
  return path;
}

std::string read_error_after(const Dataset& data, const std::function<void(H5::H5File&)>& edit,
                             const TempDir& dir) {
  const std::string path = write_and_edit(data, edit, dir);
  return error_of([&] { read_dataset(path); });
}

TEST(DatasetH5, BinaryRoundTripKeepsEveryValueAndAttribute) {
  TempDir dir;
  const Dataset data = small_binary();
  write_dataset(dir / "binary.h5", data);
  const Dataset back = read_dataset(dir / "binary.h5");
  EXPECT_EQ(back.meta.name, "tiny");
  EXPECT_EQ(back.meta.task, Task::binary);
  EXPECT_EQ(back.meta.class_names, binary_class_names());
  EXPECT_EQ(back.meta.resolution, 4);
  EXPECT_EQ(back.meta.source, "hand-made");
  EXPECT_EQ(back.meta.format_version, kDatasetFormatVersion);
  EXPECT_EQ(back.meta.tool_version.rfind("vmunet ", 0), 0u) << back.meta.tool_version;
  for (const auto& [a, b] : {std::pair{&data.train, &back.train}, {&data.test, &back.test}}) {
    EXPECT_EQ(b->count, a->count);
    EXPECT_EQ(b->channels, 3);
    EXPECT_EQ(b->images, a->images);
    EXPECT_EQ(b->masks, a->masks);
    EXPECT_EQ(b->names, a->names);
  }
  EXPECT_TRUE(back.volumes.empty());
}

TEST(DatasetH5, NormalisationConstantsArePerSplitPopulationStatistics) {
  TempDir dir;
  write_dataset(dir / "binary.h5", small_binary());
  const DatasetMeta meta = read_dataset_meta(dir / "binary.h5");
  // Test split: values (100 + 7k) % 256 for k = 0..47, worked out by hand below.
  double sum = 0, squares = 0;
  for (int k = 0; k < 48; ++k) {
    const double v = (100 + 7 * k) % 256;
    sum += v;
    squares += v * v;
  }
  const double mean = sum / 48, std = std::sqrt(squares / 48 - mean * mean);
  EXPECT_NEAR(meta.test_norm.mean, mean, 1e-12);
  EXPECT_NEAR(meta.test_norm.std, std, 1e-12);
  // Train: 96 values (7k) % 256; 7k < 256 for k <= 36, so spot-check the exact mean.
  double train_sum = 0;
  for (int k = 0; k < 96; ++k) train_sum += (7 * k) % 256;
  EXPECT_NEAR(meta.train_norm.mean, train_sum / 96, 1e-12);
}

TEST(DatasetH5, MulticlassRoundTripWithVolumesAndNoTestImages) {
  TempDir dir;
  const Dataset data = small_multiclass();
  write_dataset(dir / "ct.h5", data, 9);
  const Dataset back = read_dataset(dir / "ct.h5");
  EXPECT_EQ(back.meta.task, Task::multiclass);
  EXPECT_EQ(back.meta.num_classes(), 9);
  EXPECT_EQ(back.train.images, data.train.images);
  EXPECT_EQ(back.train.masks, data.train.masks);
  EXPECT_EQ(back.test.count, 0);
  EXPECT_EQ(back.test.channels, 1);
  ASSERT_EQ(back.volumes.size(), 1u);
  EXPECT_EQ(back.volumes[0].name, "case0001");
  EXPECT_EQ(back.volumes[0].depth, 2);
  EXPECT_EQ(back.volumes[0].height, 3);
  EXPECT_EQ(back.volumes[0].width, 5);
  EXPECT_EQ(back.volumes[0].image, data.volumes[0].image);
  EXPECT_EQ(back.volumes[0].label, data.volumes[0].label);
  // Volumes only: the test constants are the training ones.
  EXPECT_EQ(back.meta.test_norm.mean, back.meta.train_norm.mean);
}

TEST(DatasetH5, SameDataGivesIdenticalBytes) {
  TempDir dir;
  write_dataset(dir / "a.h5", small_multiclass());
  write_dataset(dir / "b.h5", small_multiclass());
  EXPECT_EQ(test::read_bytes(dir / "a.h5"), test::read_bytes(dir / "b.h5"));
}

TEST(DatasetH5, TensorsHaveTheTrainerShapesAndShareTheValues) {
  TempDir dir;
  const Dataset data = small_multiclass();
  write_dataset(dir / "ct.h5", data);
  const DatasetTensors tensors = load_dataset_tensors(dir / "ct.h5");
  EXPECT_EQ(tensors.train.images.sizes(), (std::vector<int64_t>{3, 4, 4, 1}));
  EXPECT_EQ(tensors.train.images.scalar_type(), torch::kUInt8);
  EXPECT_EQ(tensors.train.masks.sizes(), (std::vector<int64_t>{3, 4, 4}));
  EXPECT_EQ(tensors.train.masks[2][3][1].item<int>(), data.train.masks[2 * 16 + 3 * 4 + 1]);
  EXPECT_EQ(tensors.train.images[1][0][2][0].item<int>(), data.train.images[16 + 2]);
  EXPECT_EQ(tensors.test.images.size(0), 0);
  ASSERT_EQ(tensors.volumes.size(), 1u);
  EXPECT_EQ(tensors.volumes[0].image.scalar_type(), torch::kFloat32);
  EXPECT_EQ(tensors.volumes[0].image.sizes(), (std::vector<int64_t>{2, 3, 5}));
  EXPECT_FLOAT_EQ(tensors.volumes[0].image[1][2][4].item<float>(), 29.0f / 29.0f);
  EXPECT_EQ(tensors.volumes[0].label[1][0][0].item<int>(), (15 * 4) % 9);
  EXPECT_EQ(tensors.train.names, data.train.names);
}

TEST(DatasetH5, TensorsRefuseABadMaskNamingTheIndex) {
  TempDir dir;
  const std::string path = write_and_edit(
      small_binary(),
      [](H5::H5File& file) {
        std::vector<uint8_t> masks(2 * 16, 0);
        masks[16 + 2 * 4 + 3] = 7;  // sample 1, row 2, column 3
        file.openDataSet("/train/masks").write(masks.data(), H5::PredType::NATIVE_UINT8);
      },
      dir);
  const std::string message = error_of([&] { load_dataset_tensors(path); });
  EXPECT_NE(message.find("edited.h5: /train/masks[1, 2, 3] = 7 but a binary mask holds only 0 "
                         "and 1"),
            std::string::npos)
      << message;
}

TEST(DatasetH5, MulticlassLabelAtOrAboveClassCountIsRefused) {
  TempDir dir;
  const std::string message = read_error_after(
      small_multiclass(),
      [](H5::H5File& file) {
        std::vector<uint8_t> label(30, 0);
        label[1 * 15 + 2 * 5 + 4] = 9;
        file.openDataSet("/test/volumes/case0001/label")
            .write(label.data(), H5::PredType::NATIVE_UINT8);
      },
      dir);
  EXPECT_NE(message.find("/test/volumes/case0001/label[1, 2, 4] = 9 but there are only 9 classes"),
            std::string::npos)
      << message;
}

TEST(DatasetH5, MissingFileAndNonHdf5FileAreNamed) {
  TempDir dir;
  EXPECT_NE(error_of([&] {
              read_dataset(dir / "absent.h5");
            }).find("absent.h5: no such dataset file; create it with vmunet prepare"),
            std::string::npos);
  test::write_bytes(dir / "text.h5", {'h', 'e', 'l', 'l', 'o'});
  EXPECT_NE(error_of([&] { read_dataset(dir / "text.h5"); }).find("text.h5: not an HDF5 file"),
            std::string::npos);
}

TEST(DatasetH5, NewerFormatVersionIsRefused) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(),
      [](H5::H5File& file) {
        const int64_t version = 2;
        file.openAttribute("format_version").write(H5::PredType::NATIVE_INT64, &version);
      },
      dir);
  EXPECT_NE(message.find("format version 2, this vmunet reads version 1"), std::string::npos)
      << message;
}

TEST(DatasetH5, MissingAttributeIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(), [](H5::H5File& file) { file.removeAttr("class_names"); }, dir);
  EXPECT_NE(message.find("attribute 'class_names' is missing"), std::string::npos) << message;
}

TEST(DatasetH5, UnknownTaskIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(),
      [](H5::H5File& file) {
        file.removeAttr("task");
        H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
        const char* text = "regression";
        file.createAttribute("task", type, H5::DataSpace(H5S_SCALAR)).write(type, &text);
      },
      dir);
  EXPECT_NE(message.find("task 'regression' is neither 'binary' nor 'multiclass'"),
            std::string::npos)
      << message;
}

TEST(DatasetH5, MissingDatasetIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(), [](H5::H5File& file) { file.unlink("/test/masks"); }, dir);
  EXPECT_NE(message.find("edited.h5: /test/masks: missing"), std::string::npos) << message;
}

TEST(DatasetH5, WrongElementTypeIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(),
      [](H5::H5File& file) {
        file.unlink("/train/images");
        const hsize_t dims[4] = {2, 4, 4, 3};
        file.createDataSet("/train/images", H5::PredType::IEEE_F32LE, H5::DataSpace(4, dims));
      },
      dir);
  EXPECT_NE(message.find("/train/images: element type is not uint8"), std::string::npos) << message;
}

TEST(DatasetH5, MaskShapeDisagreeingWithImagesIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(),
      [](H5::H5File& file) {
        file.unlink("/train/masks");
        const hsize_t dims[3] = {1, 4, 4};
        file.createDataSet("/train/masks", H5::PredType::STD_U8LE, H5::DataSpace(3, dims));
      },
      dir);
  EXPECT_NE(message.find("/train/masks: shape [1, 4, 4] does not match /images [2, 4, 4, ...]"),
            std::string::npos)
      << message;
}

TEST(DatasetH5, ResolutionDisagreeingWithImagesIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(),
      [](H5::H5File& file) {
        const int64_t resolution = 8;
        file.openAttribute("resolution").write(H5::PredType::NATIVE_INT64, &resolution);
      },
      dir);
  EXPECT_NE(message.find("/train/images: images are 4x4 but the dataset's resolution is 8"),
            std::string::npos)
      << message;
}

TEST(DatasetH5, NameCountDisagreeingWithImagesIsNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_binary(),
      [](H5::H5File& file) {
        file.unlink("/test/names");
        const hsize_t count = 0;
        H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
        file.createDataSet("/test/names", type, H5::DataSpace(1, &count));
      },
      dir);
  EXPECT_NE(message.find("/test/names: holds 0 names for 1 images"), std::string::npos) << message;
}

TEST(DatasetH5, VolumeValuesOutsideUnitRangeAreNamed) {
  TempDir dir;
  const std::string message = read_error_after(
      small_multiclass(),
      [](H5::H5File& file) {
        std::vector<float> image(30, 0.5f);
        image[7] = 1.5f;
        file.openDataSet("/test/volumes/case0001/image")
            .write(image.data(), H5::PredType::NATIVE_FLOAT);
      },
      dir);
  EXPECT_NE(message.find("/test/volumes/case0001/image[0, 1, 2] = 1.5"), std::string::npos)
      << message;
}

TEST(DatasetH5, WriterRefusesBadSamplesAndLeavesNoFileWithoutCommit) {
  TempDir dir;
  DatasetMeta meta = small_binary().meta;
  {
    DatasetWriter writer(dir / "partial.h5", meta);
    const std::vector<uint8_t> image(4 * 4 * 3, 9), mask(16, 0), bad_mask(16, 2);
    writer.append("train", image.data(), mask.data(), 4, 4, 3, "ok");
    EXPECT_NE(error_of([&] {
                writer.append("train", image.data(), mask.data(), 8, 8, 3, "big");
              }).find("is 8x8, the dataset's resolution is 4"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                writer.append("val", image.data(), mask.data(), 4, 4, 3, "x");
              }).find("unknown split 'val'"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                writer.append("test", image.data(), bad_mask.data(), 4, 4, 3, "m");
              }).find("(m) mask[0, 0] = 2"),
              std::string::npos);
    EXPECT_NE(error_of([&] { writer.commit(); }).find("no test samples or volumes"),
              std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "partial.h5"));
  EXPECT_FALSE(std::filesystem::exists(dir / "partial.h5.partial"));
}

}  // namespace
}  // namespace vmunet
