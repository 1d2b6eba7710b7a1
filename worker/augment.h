// Training-time augmentation (DESIGN §3) as batched tensor ops on the batch's own device.
// Parameters are drawn per sample on the CPU from a torch::Generator, then applied in one pass:
// a run is reproducible from its seed, and with data parallelism every rank draws the parameters
// of the whole global batch from the same generator and applies its own slice.
//
// Layouts: images (B, C, H, W) floating point; masks (B, H, W) or (B, 1, H, W), any dtype
// (binary masks or class ids). Angles are in degrees; a positive angle turns the content
// counter-clockwise as displayed with row 0 at the top (torchvision's rotate and
// scipy.ndimage.rotate agree), about the image centre. Pixels rotated in from outside are 0 in
// image and mask.
#pragma once

#include <ATen/core/Generator.h>
#include <torch/types.h>

#include <cstdint>
#include <utility>

#include "worker/config_enums.h"

namespace vmunet {

// A CPU generator for one global batch, seeded from (run seed, epoch, step) alone, so a resumed
// run and every rank draw exactly the same parameters for that batch.
at::Generator augment_generator(uint64_t seed, int64_t epoch, int64_t step);

struct IsicAugmentConfig {
  double hflip = 0.5, vflip = 0.5, rotate = 0.5;  // probability of each, per sample
  RotationMode rotation = RotationMode::per_sample;
  double fixed_angle = 0;  // degrees, for fixed_angle; draw once per run with draw_fixed_angle
  // Masks always use nearest. The official code rotates images with torchvision's default,
  // nearest; bilinear is smoother.
  Interpolation image_interpolation = Interpolation::bilinear;
};

// The run-wide angle of RotationMode::fixed_angle, uniform in [0, 360), from the run seed.
double draw_fixed_angle(uint64_t seed);

// Per-sample ISIC parameters, CPU tensors of shape (B), applied in the official order: h-flip,
// v-flip, then rotation.
struct IsicAugmentParams {
  torch::Tensor hflip, vflip, rotate;                            // bool
  torch::Tensor angle;                                           // float64 degrees, in [0, 360)
  IsicAugmentParams slice(int64_t start, int64_t length) const;  // samples [start, start+length)
};

// Draws, in this order from `gen`: B uniforms u for hflip (set where u < config.hflip), B for
// vflip, B for rotate, B for the angle (overwritten by config.fixed_angle under fixed_angle, so
// both modes consume the generator alike).
IsicAugmentParams draw_isic_params(int64_t batch, const IsicAugmentConfig& config,
                                   at::Generator& gen);

// Returns (images, masks) augmented sample by sample; masks keep their shape and dtype.
std::pair<torch::Tensor, torch::Tensor> apply_isic_augment(const torch::Tensor& images,
                                                           const torch::Tensor& masks,
                                                           const IsicAugmentParams& params,
                                                           const IsicAugmentConfig& config);

// Per-sample Synapse parameters (TransUNet's RandomGenerator), CPU int64 tensors of shape (B).
struct SynapseAugmentParams {
  // 1 with p 0.5: np.rot90 by k, then np.flip along flip_axis (0 rows, i.e. vertical; 1 columns);
  // otherwise 2 with p 0.5: rotate by angle (integer in [−20, 20)), nearest for image and label;
  // otherwise 0: unchanged.
  torch::Tensor kind, k, flip_axis, angle;
  SynapseAugmentParams slice(int64_t start, int64_t length) const;
};

// Draws, in this order from `gen`: B uniforms for the first choice, B for the second, then k,
// flip_axis and angle for every sample.
SynapseAugmentParams draw_synapse_params(int64_t batch, at::Generator& gen);

// Square images only (rot90 of a batch). Returns (images, labels) augmented sample by sample.
std::pair<torch::Tensor, torch::Tensor> apply_synapse_augment(const torch::Tensor& images,
                                                              const torch::Tensor& labels,
                                                              const SynapseAugmentParams& params);

}  // namespace vmunet
