// Dataset files that must be refused by `train`: not files, not HDF5, truncated, with missing or
// mistyped datasets and attributes, or declaring more data than they hold. Fixed-length string
// attributes (what h5py writes for numpy bytes) are legitimate and must train.
#include <H5Cpp.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {
namespace fs = std::filesystem;
namespace {

using Mutation = std::function<void(H5::H5File&)>;

// No checkpoint may appear anywhere under `runs`.
std::string no_checkpoints(const std::string& runs) {
  if (!fs::exists(runs)) return "";
  for (const auto& entry : fs::recursive_directory_iterator(runs))
    if (entry.path().filename().string().rfind("ckpt-", 0) == 0)
      return entry.path().string() + " was written";
  return "";
}

Case train_on(const std::string& name, const std::string& data_path, const std::string& dir) {
  Case c;
  c.category = "hdf5";
  c.name = name;
  c.args = {"train", "--config",   workspace().config, "--set", "data.path=" + data_path,
            "--out", dir + "/runs"};
  c.guarded = {workspace().data};
  // The data is checked before the run's folder is made: a refused dataset leaves no folder.
  c.absent = {dir + "/runs"};
  return c;
}

void replace_dataset(H5::H5File& f, const std::string& path, const H5::DataType& type,
                     const std::vector<hsize_t>& shape, const void* data = nullptr,
                     const H5::DataType* memory_type = nullptr) {
  if (f.nameExists(path)) f.unlink(path);
  const H5::DataSet d =
      f.createDataSet(path, type, H5::DataSpace(static_cast<int>(shape.size()), shape.data()));
  if (data) d.write(data, memory_type ? *memory_type : type);
}

// A chunked dataset declaring `shape` with no chunk written: it claims data it does not hold.
void lying_dataset(H5::H5File& f, const std::string& path, const std::vector<hsize_t>& shape) {
  if (f.nameExists(path)) f.unlink(path);
  std::vector<hsize_t> chunk(shape.size(), 1);
  chunk.back() = shape.back();
  H5::DSetCreatPropList props;
  props.setChunk(static_cast<int>(chunk.size()), chunk.data());
  f.createDataSet(path, H5::PredType::STD_U8LE,
                  H5::DataSpace(static_cast<int>(shape.size()), shape.data()), props);
}

void set_attribute(H5::H5File& f, const std::string& name, int64_t value) {
  H5::Group root = f.openGroup("/");
  if (root.attrExists(name)) root.removeAttr(name);
  root.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_INT64, &value);
}

void set_attribute(H5::H5File& f, const std::string& name, double value) {
  H5::Group root = f.openGroup("/");
  if (root.attrExists(name)) root.removeAttr(name);
  root.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_DOUBLE, &value);
}

// A fixed-length string attribute, NUL-padded, as h5py writes np.bytes_ values.
void set_fixed_string(H5::H5File& f, const std::string& name, const std::vector<std::string>& v,
                      bool scalar) {
  H5::Group root = f.openGroup("/");
  if (root.attrExists(name)) root.removeAttr(name);
  size_t width = 1;
  for (const auto& s : v) width = std::max(width, s.size());
  H5::StrType type(H5::PredType::C_S1, width);
  type.setStrpad(H5T_STR_NULLPAD);
  std::string buffer;
  for (const auto& s : v) buffer += s + std::string(width - s.size(), '\0');
  const hsize_t count = v.size();
  const H5::DataSpace space = scalar ? H5::DataSpace(H5S_SCALAR) : H5::DataSpace(1, &count);
  root.createAttribute(name, type, space).write(type, buffer.data());
}

void set_string(H5::H5File& f, const std::string& name, const std::string& value) {
  H5::Group root = f.openGroup("/");
  if (root.attrExists(name)) root.removeAttr(name);
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  const char* data = value.c_str();
  root.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, &data);
}

}  // namespace

std::vector<Case> hdf5_cases() {
  const Workspace& w = workspace();
  const std::string original = read_bytes(w.data);
  std::vector<Case> cases;
  const auto add_bytes = [&](const std::string& name, const std::string& bytes) {
    const std::string dir = case_dir("hdf5", name);
    write_bytes(dir + "/data.h5", bytes);
    cases.push_back(train_on(name, dir + "/data.h5", dir));
  };
  // Not a dataset file at all.
  {
    const std::string dir = case_dir("hdf5", "not-files");
    fs::create_directories(dir + "/folder.h5");
    cases.push_back(train_on("directory", dir + "/folder.h5", dir));
    cases.push_back(train_on("dev-null", "/dev/null", dir));
    cases.push_back(train_on("missing", dir + "/missing.h5", dir));
  }
  add_bytes("empty", "");
  add_bytes("text", "this is not an HDF5 file\n");
  add_bytes("signature-then-garbage", original.substr(0, 8) + std::string(4096, '\x5a'));
  add_bytes("zeros", std::string(original.size(), '\0'));
  // Truncated at many points: HDF5 itself or our size checks must notice.
  for (double fraction : {0.001, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99}) {
    const auto keep = static_cast<size_t>(fraction * static_cast<double>(original.size()));
    add_bytes("truncated-" + std::to_string(keep), original.substr(0, keep));
  }
  add_bytes("truncated-last-byte", original.substr(0, original.size() - 1));

  // Structural damage, written with HDF5 itself.
  const auto u8 = H5::PredType::STD_U8LE;
  const std::vector<std::pair<std::string, Mutation>> mutations = {
      {"no-train", [](H5::H5File& f) { f.unlink("/train"); }},
      {"no-test", [](H5::H5File& f) { f.unlink("/test"); }},
      {"no-train-images", [](H5::H5File& f) { f.unlink("/train/images"); }},
      {"no-train-masks", [](H5::H5File& f) { f.unlink("/train/masks"); }},
      {"no-train-names", [](H5::H5File& f) { f.unlink("/train/names"); }},
      {"images-float",
       [](H5::H5File& f) {
         replace_dataset(f, "/train/images", H5::PredType::IEEE_F32LE, {4, 32, 32, 3});
       }},
      {"images-int16",
       [](H5::H5File& f) {
         replace_dataset(f, "/train/images", H5::PredType::STD_I16LE, {4, 32, 32, 3});
       }},
      {"images-signed-int8",
       [](H5::H5File& f) {
         replace_dataset(f, "/train/images", H5::PredType::STD_I8LE, {4, 32, 32, 3});
       }},
      {"images-3d",
       [&](H5::H5File& f) {
         replace_dataset(f, "/train/images", u8, {4, 32, 96});
       }},
      {"images-5d",
       [&](H5::H5File& f) {
         replace_dataset(f, "/train/images", u8, {4, 32, 32, 3, 1});
       }},
      {"images-4-channels",
       [&](H5::H5File& f) {
         const std::vector<uint8_t> zeros(4 * 32 * 32 * 4, 0);
         replace_dataset(f, "/train/images", u8, {4, 32, 32, 4}, zeros.data());
       }},
      {"images-wrong-size",
       [&](H5::H5File& f) {
         const std::vector<uint8_t> zeros(4 * 30 * 30 * 3, 0);
         replace_dataset(f, "/train/images", u8, {4, 30, 30, 3}, zeros.data());
       }},
      {"masks-wrong-shape",
       [&](H5::H5File& f) {
         const std::vector<uint8_t> zeros(4 * 32 * 33, 0);
         replace_dataset(f, "/train/masks", u8, {4, 32, 33}, zeros.data());
       }},
      {"masks-fewer",
       [&](H5::H5File& f) {
         const std::vector<uint8_t> zeros(3 * 32 * 32, 0);
         replace_dataset(f, "/train/masks", u8, {3, 32, 32}, zeros.data());
       }},
      {"masks-class-7",
       [&](H5::H5File& f) {
         const std::vector<uint8_t> sevens(4 * 32 * 32, 7);
         replace_dataset(f, "/train/masks", u8, {4, 32, 32}, sevens.data());
       }},
      {"masks-255",
       [&](H5::H5File& f) {
         const std::vector<uint8_t> full(2 * 32 * 32, 255);
         replace_dataset(f, "/test/masks", u8, {2, 32, 32}, full.data());
       }},
      {"names-int",
       [](H5::H5File& f) {
         const int64_t v[4] = {1, 2, 3, 4};
         replace_dataset(f, "/train/names", H5::PredType::STD_I64LE, {4}, v,
                         &H5::PredType::NATIVE_INT64);
       }},
      {"names-fewer",
       [](H5::H5File& f) {
         H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
         const char* names[2] = {"a", "b"};
         replace_dataset(f, "/train/names", type, {2}, names);
       }},
      {"images-group",
       [](H5::H5File& f) {
         f.unlink("/train/images");
         f.createGroup("/train/images");
       }},
      {"no-format-version", [](H5::H5File& f) { f.openGroup("/").removeAttr("format_version"); }},
      {"format-version-99", [](H5::H5File& f) { set_attribute(f, "format_version", int64_t{99}); }},
      {"format-version-string", [](H5::H5File& f) { set_string(f, "format_version", "1"); }},
      {"format-version-float", [](H5::H5File& f) { set_attribute(f, "format_version", 1.0); }},
      {"name-int", [](H5::H5File& f) { set_attribute(f, "name", int64_t{3}); }},
      {"no-task", [](H5::H5File& f) { f.openGroup("/").removeAttr("task"); }},
      {"task-unknown", [](H5::H5File& f) { set_string(f, "task", "regression"); }},
      {"task-multiclass", [](H5::H5File& f) { set_string(f, "task", "multiclass"); }},
      {"one-class", [](H5::H5File& f) { set_fixed_string(f, "class_names", {"all"}, false); }},
      {"resolution-64", [](H5::H5File& f) { set_attribute(f, "resolution", int64_t{64}); }},
      {"resolution-negative", [](H5::H5File& f) { set_attribute(f, "resolution", int64_t{-32}); }},
      {"resolution-string", [](H5::H5File& f) { set_string(f, "resolution", "32"); }},
      {"std-zero", [](H5::H5File& f) { set_attribute(f, "norm_train_std", 0.0); }},
      {"std-negative", [](H5::H5File& f) { set_attribute(f, "norm_test_std", -3.0); }},
      {"std-nan", [](H5::H5File& f) { set_attribute(f, "norm_train_std", std::nan("")); }},
      {"mean-inf", [](H5::H5File& f) { set_attribute(f, "norm_train_mean", HUGE_VAL); }},
      {"no-tool-version", [](H5::H5File& f) { f.openGroup("/").removeAttr("tool_version"); }},
      {"lying-2e9-images",
       [](H5::H5File& f) {
         lying_dataset(f, "/train/images", {2000000000, 32, 32, 3});
       }},
      {"lying-masks",
       [](H5::H5File& f) {
         lying_dataset(f, "/test/masks", {2, 32000, 32000});
       }},
      {"lying-both",
       [](H5::H5File& f) {
         lying_dataset(f, "/train/images", {4000000, 32, 32, 3});
         lying_dataset(f, "/train/masks", {4000000, 32, 32});
       }},
      {"empty-train",
       [&](H5::H5File& f) {
         replace_dataset(f, "/train/images", u8, {0, 32, 32, 3});
         replace_dataset(f, "/train/masks", u8, {0, 32, 32});
         H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
         replace_dataset(f, "/train/names", type, {0});
       }},
  };
  for (const auto& [name, mutate] : mutations) {
    const std::string dir = case_dir("hdf5", name);
    const std::string path = dir + "/data.h5";
    fs::copy_file(w.data, path, fs::copy_options::overwrite_existing);
    {
      H5::H5File f(path, H5F_ACC_RDWR);
      mutate(f);
    }
    cases.push_back(train_on(name, path, dir));
  }

  // Legitimate: the string attributes as fixed-length strings.
  {
    const std::string dir = case_dir("hdf5", "fixed-length-strings");
    const std::string path = dir + "/data.h5";
    fs::copy_file(w.data, path, fs::copy_options::overwrite_existing);
    {
      H5::H5File f(path, H5F_ACC_RDWR);
      set_fixed_string(f, "name", {"synthetic"}, true);
      set_fixed_string(f, "task", {"binary"}, true);
      set_fixed_string(f, "class_names", {"background", "lesion"}, false);
    }
    Case c = train_on("fixed-length-string-attributes (legitimate)", path, dir);
    c.legitimate = true;
    const std::string runs = dir + "/runs";
    c.check = [runs](const Outcome&) {
      return no_checkpoints(runs).empty() ? "trained but wrote no checkpoint" : "";
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vmunet::robustness
