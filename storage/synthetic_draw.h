// Drawing routines behind make_synthetic(); internal to storage/.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/rng.h"

namespace vmunet::synthetic {

// Smooth noise in [0, 1] over a size x size image: random values on a (cells+1)^2 grid,
// interpolated with a smoothstep.
std::vector<float> value_noise(Rng& rng, int size, int cells);

// One dermoscopy-like image: image [size, size, 3] RGB, mask [size, size] with 1 = lesion.
void draw_skin(Rng& rng, int size, uint8_t* image, uint8_t* mask);

// One synthetic patient: where each organ sits, how large, how bright.
struct Organ {
  double x, y;           // centre, fraction of the image
  double rx, ry;         // semi-axes at the widest slice, fraction of the image
  double angle;          // in-plane rotation, radians
  double z, half_depth;  // extent along the volume, z in [0, 1]
  double intensity, texture;
  double harmonics[3], phases[3];  // boundary irregularity
};

struct CtBody {
  double rx, ry, x, y;  // body outline (ellipse), fraction of the image
  Organ organs[8];      // Synapse order: aorta ... stomach (label = index + 1)
};

CtBody random_ct_body(Rng& rng);

// The slice at height z in [0, 1]: image [size, size] in [0, 1], label [size, size] of class ids.
void draw_ct_slice(const CtBody& body, double z, Rng& rng, int size, float* image, uint8_t* label);

}  // namespace vmunet::synthetic
