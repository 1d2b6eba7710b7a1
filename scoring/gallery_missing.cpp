// Built instead of gallery.cpp where OpenCV is missing (the GPU machine).
#include "common/error.h"
#include "scoring/gallery.h"

namespace vmunet {

std::vector<std::string> write_gallery(const Evaluation&, const SegmentationCases&,
                                       const std::string&, const std::string& out_dir) {
  throw Error(out_dir +
              ": this vmunet was built without OpenCV, so it cannot draw the gallery; run "
              "evaluate --gallery on a machine that has it");
}

}  // namespace vmunet
