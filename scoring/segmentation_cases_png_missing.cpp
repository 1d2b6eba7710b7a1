// Built instead of segmentation_cases_png.cpp where OpenCV is missing (the GPU machine).
#include "common/error.h"
#include "scoring/segmentation_cases.h"

namespace vmunet {

SegmentationCases load_png_cases(const std::string& pred_dir, const std::string&, bool) {
  throw Error(pred_dir +
              ": this vmunet was built without OpenCV, so it cannot read PNG masks; evaluate "
              "HDF5 volumes here, or PNG folders on a machine that has OpenCV");
}

}  // namespace vmunet
