#include "worker/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

namespace vmunet {
namespace F = torch::nn::functional;

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

at::Generator cpu_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

torch::Tensor uniforms(int64_t n, at::Generator& gen) {
  return torch::rand({n}, gen, torch::TensorOptions().dtype(torch::kDouble));
}

// Masks as (B, 1, H, W), whichever of the two accepted layouts they come in.
torch::Tensor mask_4d(const torch::Tensor& masks) {
  return masks.dim() == 3 ? masks.unsqueeze(1) : masks;
}

void check_pair(const torch::Tensor& images, const torch::Tensor& masks, int64_t batch,
                const char* who) {
  TORCH_CHECK(images.dim() == 4 && images.is_floating_point(), who,
              ": images must be floating (B, C, H, W), got ", images.scalar_type(), " ",
              images.sizes());
  TORCH_CHECK((masks.dim() == 3 || (masks.dim() == 4 && masks.size(1) == 1)) &&
                  masks.size(0) == images.size(0) && masks.size(-2) == images.size(2) &&
                  masks.size(-1) == images.size(3),
              who, ": masks must be (B, H, W) or (B, 1, H, W) matching images ", images.sizes(),
              ", got ", masks.sizes());
  TORCH_CHECK(batch == images.size(0), who, ": parameters drawn for ", batch,
              " samples, batch has ", images.size(0));
}

// Per sample b: yes[b] where sel[b] (bool, CPU, (B)) else no[b].
torch::Tensor choose(const torch::Tensor& sel, const torch::Tensor& yes, const torch::Tensor& no) {
  return torch::where(sel.to(no.device()).view({-1, 1, 1, 1}), yes, no);
}

// Rotates the samples with which[b] set by angle[b] degrees about the image centre (see the
// header's convention); the others pass through untouched, bit for bit.
torch::Tensor rotate_samples(const torch::Tensor& x, const torch::Tensor& which,
                             const torch::Tensor& angle, Interpolation mode) {
  auto idx = which.nonzero().flatten();
  if (idx.numel() == 0) return x;
  auto radians = angle.index_select(0, idx).to(torch::kDouble) * (M_PI / 180.0);
  auto c = radians.cos(), s = radians.sin(), zero = torch::zeros_like(c);
  // Output pixel o (centred, x right, y down) samples input R⁻¹·o; affine_grid works in
  // coordinates normalised by W/2 and H/2, hence the aspect factors off the diagonal.
  const double h_over_w = static_cast<double>(x.size(2)) / static_cast<double>(x.size(3));
  auto theta = torch::stack(
      {torch::stack({c, -s * h_over_w, zero}, 1), torch::stack({s / h_over_w, c, zero}, 1)}, 1);
  auto on_device = idx.to(x.device());
  auto input = x.index_select(0, on_device);
  if (!input.is_floating_point()) input = input.to(torch::kFloat);  // exact for mask values
  auto grid = F::affine_grid(theta.to(input.options()), input.sizes(), /*align_corners=*/false);
  auto options = F::GridSampleFuncOptions().padding_mode(torch::kZeros).align_corners(false);
  if (mode == Interpolation::nearest) {
    options.mode(torch::kNearest);
  } else {
    options.mode(torch::kBilinear);
  }
  return x.index_copy(0, on_device, F::grid_sample(input, grid, options).to(x.scalar_type()));
}

}  // namespace

at::Generator augment_generator(uint64_t seed, int64_t epoch, int64_t step) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ static_cast<uint64_t>(epoch));
  return cpu_generator(splitmix64(h ^ static_cast<uint64_t>(step)));
}

double draw_fixed_angle(uint64_t seed) {
  // A stream of its own: no (epoch, step) batch generator shares this seed.
  auto gen = cpu_generator(splitmix64(splitmix64(seed) ^ 0xf1cedf1cedULL));
  return 360.0 * uniforms(1, gen).item<double>();
}

IsicAugmentParams IsicAugmentParams::slice(int64_t start, int64_t length) const {
  return {hflip.narrow(0, start, length), vflip.narrow(0, start, length),
          rotate.narrow(0, start, length), angle.narrow(0, start, length)};
}

IsicAugmentParams draw_isic_params(int64_t batch, const IsicAugmentConfig& config,
                                   at::Generator& gen) {
  IsicAugmentParams p;
  p.hflip = uniforms(batch, gen) < config.hflip;  // `random.random() < p` in the official code
  p.vflip = uniforms(batch, gen) < config.vflip;
  p.rotate = uniforms(batch, gen) < config.rotate;
  p.angle = 360.0 * uniforms(batch, gen);
  if (config.rotation == RotationMode::fixed_angle) p.angle.fill_(config.fixed_angle);
  return p;
}

std::pair<torch::Tensor, torch::Tensor> apply_isic_augment(const torch::Tensor& images,
                                                           const torch::Tensor& masks,
                                                           const IsicAugmentParams& p,
                                                           const IsicAugmentConfig& config) {
  check_pair(images, masks, p.hflip.size(0), "ISIC augmentation");
  auto x = images, m = mask_4d(masks);
  x = choose(p.hflip, x.flip({3}), x);
  m = choose(p.hflip, m.flip({3}), m);
  x = choose(p.vflip, x.flip({2}), x);
  m = choose(p.vflip, m.flip({2}), m);
  x = rotate_samples(x, p.rotate, p.angle, config.image_interpolation);
  m = rotate_samples(m, p.rotate, p.angle, Interpolation::nearest);
  return {x, m.reshape(masks.sizes())};
}

SynapseAugmentParams SynapseAugmentParams::slice(int64_t start, int64_t length) const {
  return {kind.narrow(0, start, length), k.narrow(0, start, length),
          flip_axis.narrow(0, start, length), angle.narrow(0, start, length)};
}

SynapseAugmentParams draw_synapse_params(int64_t batch, at::Generator& gen) {
  auto first = uniforms(batch, gen) > 0.5;  // `random.random() > 0.5` in RandomGenerator
  auto second = uniforms(batch, gen) > 0.5;
  SynapseAugmentParams p;
  p.kind = torch::where(first, 1, torch::where(second, 2, 0)).to(torch::kLong);
  p.k = torch::randint(0, 4, {batch}, gen);
  p.flip_axis = torch::randint(0, 2, {batch}, gen);
  p.angle = torch::randint(-20, 20, {batch}, gen);
  return p;
}

std::pair<torch::Tensor, torch::Tensor> apply_synapse_augment(const torch::Tensor& images,
                                                              const torch::Tensor& labels,
                                                              const SynapseAugmentParams& p) {
  check_pair(images, labels, p.kind.size(0), "Synapse augmentation");
  TORCH_CHECK(images.size(2) == images.size(3),
              "Synapse augmentation: rot90 needs square images, got ", images.sizes());
  auto x = images, m = mask_4d(labels);
  auto rot_flip = p.kind == 1;
  for (int64_t k = 1; k < 4; ++k) {
    auto sel = rot_flip.logical_and(p.k == k);
    x = choose(sel, x.rot90(k, {2, 3}), x);
    m = choose(sel, m.rot90(k, {2, 3}), m);
  }
  for (int64_t axis = 0; axis < 2; ++axis) {
    auto sel = rot_flip.logical_and(p.flip_axis == axis);
    x = choose(sel, x.flip({2 + axis}), x);
    m = choose(sel, m.flip({2 + axis}), m);
  }
  auto rotate = p.kind == 2;
  x = rotate_samples(x, rotate, p.angle, Interpolation::nearest);
  m = rotate_samples(m, rotate, p.angle, Interpolation::nearest);
  return {x, m.reshape(labels.sizes())};
}

}  // namespace vmunet
