// Synthetic datasets for the quickstart and for tests, deterministic for a seed (sample i of a
// split depends only on the seed, the split and i) and hard enough that learning is not trivial:
//   binary: dermoscopy-like RGB images: textured skin of varied tone, an irregular lesion of varied
//     colour, size and border sharpness, small freckles that are not lesions, hairs across
//     everything, vignetting and sensor noise;
//   multiclass: CT-like grey slices through synthetic patients: body, fat, spine, and the eight
//     Synapse organs as irregular ellipsoids of distinct intensity and texture, plus noise; the
//     test split is stored as volumes of consecutive slices, one per patient, as on Synapse.
#pragma once

#include <cstdint>
#include <string>

#include "storage/dataset.h"

namespace vmunet {

struct SyntheticOptions {
  Task task = Task::binary;
  int64_t train = 400;  // training images (multiclass: slices)
  int64_t test = 100;   // test images (multiclass: slices, grouped into volumes)
  int size = 64;
  uint64_t seed = 0;
  int64_t slices_per_volume = 16;  // multiclass: slices per synthetic patient
};

Dataset make_synthetic(const SyntheticOptions& options);

// make_synthetic() written to `out`.
void prepare_synthetic(const SyntheticOptions& options, const std::string& out, int gzip_level = 4);

}  // namespace vmunet
