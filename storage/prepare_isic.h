// `vmunet prepare isic`: ISIC image/mask folders to one dataset file per size (DESIGN §3-4).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/prepare_common.h"

namespace vmunet {

struct IsicOptions {
  // Either flat folders, split into train/test by `split` and `seed` ...
  std::string images, masks;
  double split = 0.7;  // fraction of pairs for training
  uint64_t seed = 42;
  // ... or the official VM-UNet layout: root/{train,val}/{images,masks}.
  std::string root;
  std::string mask_suffix = "_segmentation";  // matched case-insensitively
  std::vector<int> sizes{256};
  std::string out;  // "{size}" is replaced by each size
  std::string name = "isic";
  bool strict = false;  // fail on the first unpaired or unreadable file instead of skipping it
  int gzip_level = 4;
};

// Pairs by stem, reads each pair once (refusing damaged files, storage/image_file.h), binarises
// the mask at >= 128 (masks holding only 0/1 at 1, with a note in the summary), resizes the image
// smoothly (area when shrinking, cubic when enlarging) and the mask by area then >= 0.5 so it stays
// binary, and writes every size; normalisation constants are computed per split at each size.
PrepareSummary prepare_isic(const IsicOptions& options);

}  // namespace vmunet
