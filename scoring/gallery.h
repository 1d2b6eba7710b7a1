// The gallery of `vmunet evaluate --gallery`: for each foreground class, one PNG sheet with the
// best, median and worst case by that class's Dice, top to bottom; each row shows the image, the
// reference drawn on it (red) and the prediction drawn on it (the predict palette), under a
// caption with the case's name, Dice and HD95.
#pragma once

#include <string>
#include <vector>

#include "scoring/evaluate_segmentations.h"

namespace vmunet {

// Writes <out_dir>/gallery_<class>.png per foreground class and returns the paths. Images are
// looked up in images_dir by case name (<case>.jpg, .png, ...); a missing one is drawn black and
// said so in its caption. Needs 2D masks; throws Error otherwise, or where OpenCV is missing.
std::vector<std::string> write_gallery(const Evaluation& evaluation, const SegmentationCases& cases,
                                       const std::string& images_dir, const std::string& out_dir);

}  // namespace vmunet
