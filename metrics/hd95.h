// The 95th-percentile Hausdorff distance of two 3D binary masks, as medpy.metric.binary.hd95
// computes it with unit voxel spacing.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics/distance_transform.h"

namespace vmunet {

// The mask's surface voxels: the mask minus its erosion by the 6-connected cross (one
// iteration). Voxels outside the grid count as background for the erosion (scipy's
// binary_erosion with border_value 0, which medpy uses), so mask voxels on a face of the grid
// are surface voxels. A planar grid erodes with the 4-connected cross in its plane.
std::vector<uint8_t> surface_voxels(const std::vector<uint8_t>& mask, const Grid3& grid);

// 95th percentile of the distances from each surface voxel of `a` to the nearest surface voxel
// of `b`, pooled with the distances from each surface voxel of `b` to the nearest of `a`;
// the percentile interpolates linearly between order statistics (numpy.percentile's default).
// Symmetric in a and b. Both masks must be non-empty (medpy raises too): throws vmunet::Error.
double hd95(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const Grid3& grid);

// The q-th percentile (0 ≤ q ≤ 100) of `values` with numpy's default linear interpolation:
// sorted x, position h = (n − 1)·q/100, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). Reorders values.
// Throws vmunet::Error when empty.
double percentile(std::vector<double>& values, double q);

}  // namespace vmunet
