// Pairing ISIC images with their masks by file stem: "ISIC_0000000.jpg" goes with
// "ISIC_0000000<suffix>.png" (suffix matched case-insensitively; ISIC uses both _segmentation and
// _Segmentation) or with a mask of the very same stem.
#pragma once

#include <string>
#include <vector>

namespace vmunet {

struct ImagePair {
  std::string stem, image, mask;  // stem of the image; full paths
};

struct Pairing {
  std::vector<ImagePair> pairs;       // sorted by stem
  std::vector<std::string> problems;  // unpaired or duplicate files, one line each
};

// Image files (.jpg .jpeg .png .bmp .tif .tiff, any case) of both folders; other files are ignored.
// Throws Error if a folder is missing or holds no image files.
Pairing pair_by_stem(const std::string& images_dir, const std::string& masks_dir,
                     const std::string& mask_suffix);

}  // namespace vmunet
