// Dermoscopy-like images. Every size is relative to the image side, so a seed draws the same scene
// at any resolution (up to the pixel-level noise).
#include <algorithm>
#include <cmath>

#include "storage/synthetic_draw.h"

namespace vmunet::synthetic {
namespace {

double lerp(double a, double b, double t) { return a + (b - a) * t; }
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Irregular lesion outline: a rotated ellipse whose radius wobbles with angular harmonics.
struct LesionShape {
  double cx, cy, radius, aspect, cos_a, sin_a;
  double amplitude[5], phase[5];  // harmonics 2..6

  // Approximate signed distance in pixels: > 0 inside.
  double inside(double x, double y) const {
    const double dx = x - cx, dy = y - cy;
    const double u = dx * cos_a + dy * sin_a, v = (-dx * sin_a + dy * cos_a) / aspect;
    const double theta = std::atan2(v, u);
    double r = 1.0;
    for (int k = 0; k < 5; ++k) r += amplitude[k] * std::cos((k + 2) * theta + phase[k]);
    return radius * r - std::hypot(u, v);
  }
};

LesionShape random_lesion(Rng& rng, double side) {
  LesionShape shape;
  shape.cx = side * rng.uniform(0.3, 0.7);
  shape.cy = side * rng.uniform(0.3, 0.7);
  shape.radius = side * rng.uniform(0.17, 0.4);
  shape.aspect = rng.uniform(0.6, 1.0);
  const double angle = rng.uniform(0.0, 2.0 * M_PI);
  shape.cos_a = std::cos(angle);
  shape.sin_a = std::sin(angle);
  for (int k = 0; k < 5; ++k) {
    shape.amplitude[k] = rng.uniform(0.0, 0.3 / (k + 2));
    shape.phase[k] = rng.uniform(0.0, 2.0 * M_PI);
  }
  return shape;
}

// Quadratic Bezier hairs as an alpha map: 1 on the hair, fading over about a pixel.
std::vector<float> draw_hairs(Rng& rng, int size) {
  std::vector<float> alpha(static_cast<size_t>(size) * size, 0.0f);
  const double side = size;
  const int64_t hairs = rng.below(6);
  for (int64_t h = 0; h < hairs; ++h) {
    const double x0 = side * rng.uniform(), y0 = side * rng.uniform();
    const double angle = rng.uniform(0.0, 2.0 * M_PI), length = side * rng.uniform(0.4, 1.2);
    const double x2 = x0 + length * std::cos(angle), y2 = y0 + length * std::sin(angle);
    const double bend = side * rng.uniform(-0.2, 0.2);
    const double x1 = (x0 + x2) / 2 - bend * std::sin(angle),
                 y1 = (y0 + y2) / 2 + bend * std::cos(angle);
    const double half_width = std::max(0.35, side / 64.0 * rng.uniform(0.3, 0.8));
    const int steps = 4 * size;
    for (int i = 0; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps, s = 1 - t;
      const double px = s * s * x0 + 2 * s * t * x1 + t * t * x2;
      const double py = s * s * y0 + 2 * s * t * y1 + t * t * y2;
      const int reach = static_cast<int>(half_width) + 2;
      for (int y = static_cast<int>(py) - reach; y <= static_cast<int>(py) + reach; ++y)
        for (int x = static_cast<int>(px) - reach; x <= static_cast<int>(px) + reach; ++x) {
          if (x < 0 || y < 0 || x >= size || y >= size) continue;
          const double distance = std::hypot(x + 0.5 - px, y + 0.5 - py);
          float& a = alpha[static_cast<size_t>(y) * size + x];
          a = std::max(a, static_cast<float>(std::clamp(half_width + 0.5 - distance, 0.0, 1.0)));
        }
    }
  }
  return alpha;
}

}  // namespace

void draw_skin(Rng& rng, int size, uint8_t* image, uint8_t* mask) {
  const double side = size, scale = side / 64.0;

  // Skin of a random tone with slow mottling and fine grain.
  const double tone = rng.uniform();
  double skin[3] = {lerp(238, 160, tone), lerp(200, 112, tone), lerp(182, 90, tone)};
  for (double& channel : skin) channel += rng.uniform(-8, 8);
  const std::vector<float> mottling = value_noise(rng, size, 4);
  const std::vector<float> grain = value_noise(rng, size, std::max(4, size / 3));

  // The lesion: darker than the skin, tinted brown, red or blue-grey, with inner structure,
  // a darker centre and a border from sharp to blurred.
  const LesionShape lesion = random_lesion(rng, side);
  static constexpr double kTints[3][3] = {{1.0, 0.82, 0.72}, {1.08, 0.78, 0.78}, {0.85, 0.9, 1.05}};
  const double* tint = kTints[rng.below(3)];
  const double darkness = rng.uniform(0.35, 0.8);
  double lesion_colour[3];
  for (int c = 0; c < 3; ++c) lesion_colour[c] = skin[c] * darkness * tint[c];
  const std::vector<float> structure = value_noise(rng, size, 6);
  const double structure_amount = rng.uniform(0.05, 0.3);
  const double centre_darkening = rng.uniform(0.0, 0.35);
  const double border_width = scale * rng.uniform(0.3, 2.5);

  // Freckles: small dark spots away from the lesion, which are not part of the mask.
  struct Freckle {
    double x, y, radius;
  };
  std::vector<Freckle> freckles;
  for (int64_t i = 0, n = rng.below(5); i < n; ++i) {
    const Freckle f{side * rng.uniform(), side * rng.uniform(), scale * rng.uniform(0.8, 2.0)};
    if (lesion.inside(f.x, f.y) < -(f.radius + 3 * scale)) freckles.push_back(f);
  }
  const double freckle_darkness = rng.uniform(0.45, 0.75);

  const std::vector<float> hairs = draw_hairs(rng, size);
  const double hair_colour[3] = {rng.uniform(20, 70), rng.uniform(15, 50), rng.uniform(10, 40)};

  // Vignetting, and on some images the dark round edge of the dermoscope's field of view.
  const double vignette = rng.uniform(0.0, 0.45);
  const double vx = side * rng.uniform(0.4, 0.6), vy = side * rng.uniform(0.4, 0.6);
  const double field_radius = rng.uniform() < 0.3 ? side * rng.uniform(0.6, 0.72) : 1e9;
  const double noise_sigma = rng.uniform(2.0, 6.0);

  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const size_t p = static_cast<size_t>(y) * size + x;
      const double px = x + 0.5, py = y + 0.5;
      const double inside = lesion.inside(px, py);
      mask[p] = inside > 0 ? 1 : 0;
      const double alpha = sigmoid(inside / border_width);
      const double centre =
          std::clamp(1.0 - std::hypot(px - lesion.cx, py - lesion.cy) / lesion.radius, 0.0, 1.0);
      double freckle_alpha = 0;
      for (const Freckle& f : freckles)
        freckle_alpha = std::max(
            freckle_alpha, std::clamp(f.radius + 0.5 - std::hypot(px - f.x, py - f.y), 0.0, 1.0));
      const double radial = std::hypot(px - vx, py - vy) / (side * M_SQRT1_2);
      const double light =
          (1.0 - vignette * std::pow(radial, 2.5)) *
          (1.0 - 0.9 * sigmoid((std::hypot(px - side / 2, py - side / 2) - field_radius) / scale));
      for (int c = 0; c < 3; ++c) {
        double value = skin[c] * (1 + 0.14 * (mottling[p] - 0.5)) * (1 + 0.08 * (grain[p] - 0.5));
        value *= 1 - (1 - freckle_darkness) * freckle_alpha;
        const double lesion_value = lesion_colour[c] *
                                    (1 + 2 * structure_amount * (structure[p] - 0.5)) *
                                    (1 - centre_darkening * centre);
        value = lerp(value, lesion_value, alpha);
        value = lerp(value, hair_colour[c], hairs[p]);
        value = value * light + noise_sigma * rng.normal();
        image[3 * p + c] = static_cast<uint8_t>(std::clamp(std::lround(value), 0L, 255L));
      }
    }
}

}  // namespace vmunet::synthetic
