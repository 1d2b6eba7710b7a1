// Built instead of predict_images.cpp where OpenCV is missing (the GPU machine): image files and
// slices are skipped with a message; volumes (.h5) are still predicted.
#include "predict/predict_inputs.h"

namespace vmunet {
namespace {

void skip_all(const std::vector<std::string>& files, PredictContext& c) {
  for (const std::string& path : files) {
    c.skip(path,
           "this vmunet was built without OpenCV, so it cannot read or write image files; "
           "run predict on a machine that has it");
    c.progress->advance(1);
  }
}

}  // namespace

void predict_image_files(const std::vector<std::string>& files, PredictContext& c) {
  skip_all(files, c);
}
void predict_npy_slices(const std::vector<std::string>& files, PredictContext& c) {
  skip_all(files, c);
}

}  // namespace vmunet
