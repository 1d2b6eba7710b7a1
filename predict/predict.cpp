#include "predict/predict.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "predict/predict_inputs.h"
#include "worker/device.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

std::string lower_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext;
}

struct InputFiles {
  std::vector<std::string> images, npy, h5;
};

// Folders are expanded to their files (sorted; not recursive); files of other kinds in a folder
// are ignored, but a file named explicitly with an unknown extension is skipped and listed.
InputFiles sort_inputs(const std::vector<std::string>& inputs, PredictContext& context) {
  InputFiles files;
  const auto add = [&](const fs::path& p, bool named) {
    const std::string ext = lower_extension(p);
    if (is_image_file(p.string()))
      files.images.push_back(p.string());
    else if (ext == ".npy")
      files.npy.push_back(p.string());
    else if (ext == ".h5" || ext == ".hdf5")
      files.h5.push_back(p.string());
    else if (named)
      context.skip(p.string(), "unsupported file type (use PNG/JPEG/BMP/TIFF, .npy or .h5)");
  };
  for (const std::string& input : inputs) {
    if (fs::is_directory(input)) {
      std::vector<fs::path> entries;
      for (const auto& e : fs::directory_iterator(input))
        if (e.is_regular_file()) entries.push_back(e.path());
      std::sort(entries.begin(), entries.end());
      for (const auto& e : entries) add(e, false);
    } else if (fs::exists(input)) {
      add(input, true);
    } else {
      context.skip(input, "no such file or folder");
    }
  }
  return files;
}

}  // namespace

bool is_image_file(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".tif" ||
         ext == ".tiff";
}

void PredictContext::skip(const std::string& file, const std::string& why) {
  // Errors already start with the file's name.
  const std::string line = why.rfind(file + ": ", 0) == 0 ? why : file + ": " + why;
  spdlog::warn("skipped {}", line);
  summary.skipped.push_back(line);
}

PredictSummary predict(const PredictOptions& options) {
  if (options.batch < 1) throw Error("--batch must be at least 1");
  if (options.threshold && (*options.threshold < 0 || *options.threshold > 1))
    throw Error("--threshold must lie in [0, 1]");
  auto model = load_trained_model(options.checkpoint, choose_device(options.device, local_rank()));
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (!fs::is_directory(options.out_dir))
    throw Error(options.out_dir + ": cannot create the output folder (" + ec.message() + ")");
  spdlog::info("{}: {} model, {} classes, {}x{} input, trained on {}", model.checkpoint,
               task_name(model.meta.task), model.meta.class_names.size(), model.meta.input_size,
               model.meta.input_size, model.meta.dataset);

  PredictSummary summary;
  PredictContext context{model, options, options.threshold.value_or(model.meta.threshold), summary};
  const InputFiles files = sort_inputs(options.inputs, context);
  ProgressBar progress(
      "predict", static_cast<int64_t>(files.images.size() + files.npy.size() + files.h5.size()));
  context.progress = &progress;
  CapturedForward forward(model.model, true);
  context.forward = &forward;
  predict_image_files(files.images, context);
  predict_npy_slices(files.npy, context);
  predict_volume_files(files.h5, context);
  progress.finish();
  return summary;
}

}  // namespace vmunet
