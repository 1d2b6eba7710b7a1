// Predicted and reference segmentations paired into cases, for `vmunet evaluate`: folders of PNG
// masks paired by stem (a reference stem may end in ISIC's `_Segmentation`, any case), or HDF5
// files of per-case volumes (`<case>/pred`, `<case>/label`; storage/case_volumes_h5.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "metrics/distance_transform.h"

namespace vmunet {

struct SegmentationCase {
  std::string name;
  Grid3 grid;                        // planar for 2D masks
  std::vector<uint8_t> pred, label;  // class ids, grid.voxels() each
};

struct SegmentationCases {
  std::vector<SegmentationCase> cases;  // sorted by name
  std::vector<std::string> problems;    // unpaired or unreadable files, one line each
};

// `pred` and `label` are both folders or both .h5 files (possibly the same file). PNG masks with
// values above 1 are binary 0/255 masks (anti-aliased references too): 1 where ≥ 128; masks
// holding only 0 and 1, or any mask when `binary_png` is false, keep their values as class ids.
// Throws Error when a folder or file is missing or holds no cases.
SegmentationCases load_segmentation_cases(const std::string& pred, const std::string& label,
                                          bool binary_png);

// PNG folders need OpenCV; where it is missing this throws Error saying so.
SegmentationCases load_png_cases(const std::string& pred_dir, const std::string& label_dir,
                                 bool binary_png);

}  // namespace vmunet
