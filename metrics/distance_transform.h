// Exact Euclidean distance transform of a 3D voxel grid (unit spacing), on the CPU.
#pragma once

#include <cstdint>
#include <vector>

namespace vmunet {

// A 3D grid stored row-major as [depth][height][width] (voxel (z, y, x) at (z·H + y)·W + x).
struct Grid3 {
  int64_t depth = 0, height = 0, width = 0;
  // A 2D image (depth 1) rather than a volume: surfaces (hd95.h) come from the 4-connected cross
  // in the plane, as medpy computes them for a 2D array.
  bool planar = false;
  int64_t voxels() const { return depth * height * width; }
};

// For every voxel, the squared Euclidean distance to the nearest voxel where `sites` is nonzero
// (0 on the sites themselves); +infinity everywhere when there is no site. The square of scipy's
// distance_transform_edt(sites == 0). Separable: the 1D lower envelope of parabolas of
// Felzenszwalb & Huttenlocher (2012) along width, then height, then depth, O(voxels).
// Values are integers held exactly in double. Throws vmunet::Error if sizes disagree.
std::vector<double> squared_distance_transform(const std::vector<uint8_t>& sites,
                                               const Grid3& grid);

}  // namespace vmunet
