// `vmunet prepare synapse`: the TransUNet/Swin-UNet Synapse files to one dataset file per size.
//   root/train_npz/caseXXXX_sliceXXX.npz   image float32 [512,512] in [0,1], label [512,512] 0-8
//   root/test_vol_h5/caseXXXX.npy.h5       HDF5 image and label, [slices, 512, 512]
//   root/lists/lists_Synapse/train.txt, test_vol.txt   slice and case names, one per line
#pragma once

#include <string>
#include <vector>

#include "storage/prepare_common.h"

namespace vmunet {

struct SynapseOptions {
  std::string root;
  std::vector<int> sizes{224};
  std::string out;  // "{size}" is replaced by each size
  std::string name = "synapse";
  bool strict = false;  // fail on the first missing or malformed file instead of skipping it
  int gzip_level = 4;
};

// Training slices are resized to each size (image cubic, label nearest) and stored as uint8
// (round(255 x)); test volumes are kept at full resolution as float32 under /test/volumes/<case>/.
PrepareSummary prepare_synapse(const SynapseOptions& options);

}  // namespace vmunet
