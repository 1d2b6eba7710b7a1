// CT-like abdominal slices. Coordinates are fractions of the image side; x grows to the image
// right (the patient's left, radiological convention), y grows downwards (towards the back).
#include <algorithm>
#include <cmath>

#include "storage/synthetic_draw.h"

namespace vmunet::synthetic {
namespace {

// Typical anatomy in Synapse label order; each patient jitters it.
//                    x     y     rx     ry    angle  z     half  intensity texture
constexpr Organ kTemplates[8] = {
    {0.53, 0.68, 0.035, 0.035, 0.0, 0.50, 0.90, 0.78, 0.03, {}, {}},    // aorta
    {0.36, 0.55, 0.045, 0.035, 0.5, 0.45, 0.25, 0.30, 0.03, {}, {}},    // gallbladder
    {0.70, 0.68, 0.075, 0.045, 1.1, 0.55, 0.35, 0.64, 0.06, {}, {}},    // kidney (L)
    {0.32, 0.69, 0.075, 0.045, -1.1, 0.60, 0.35, 0.64, 0.06, {}, {}},   // kidney (R)
    {0.30, 0.45, 0.190, 0.160, 0.2, 0.35, 0.55, 0.56, 0.05, {}, {}},    // liver
    {0.55, 0.57, 0.130, 0.030, -0.25, 0.50, 0.20, 0.50, 0.12, {}, {}},  // pancreas
    {0.76, 0.52, 0.080, 0.055, 0.9, 0.35, 0.30, 0.60, 0.05, {}, {}},    // spleen
    {0.62, 0.38, 0.120, 0.090, -0.3, 0.40, 0.35, 0.46, 0.08, {}, {}},   // stomach
};
// Painting order: large organs first, so small ones lying over them stay visible.
constexpr int kPaintOrder[8] = {4, 6, 7, 2, 3, 5, 1, 0};
constexpr int kStomach = 7, kKidneyL = 2, kKidneyR = 3;

double ellipse_radius(double u, double v, double rx, double ry) {
  return std::hypot(u / rx, v / ry);
}

}  // namespace

CtBody random_ct_body(Rng& rng) {
  CtBody body;
  body.rx = rng.uniform(0.40, 0.46);
  body.ry = rng.uniform(0.30, 0.35);
  body.x = 0.5 + rng.uniform(-0.01, 0.01);
  body.y = 0.52 + rng.uniform(-0.01, 0.01);
  for (int i = 0; i < 8; ++i) {
    Organ organ = kTemplates[i];
    organ.x += rng.uniform(-0.02, 0.02);
    organ.y += rng.uniform(-0.02, 0.02);
    const double size = rng.uniform(0.85, 1.15);
    organ.rx *= size * rng.uniform(0.92, 1.08);
    organ.ry *= size * rng.uniform(0.92, 1.08);
    organ.angle += rng.uniform(-0.2, 0.2);
    organ.z += rng.uniform(-0.05, 0.05);
    organ.intensity += rng.uniform(-0.03, 0.03);
    for (int k = 0; k < 3; ++k) {
      organ.harmonics[k] = rng.uniform(0.0, 0.12 / (k + 1));
      organ.phases[k] = rng.uniform(0.0, 2.0 * M_PI);
    }
    body.organs[i] = organ;
  }
  return body;
}

void draw_ct_slice(const CtBody& body, double z, Rng& rng, int size, float* image, uint8_t* label) {
  const double pixel = 1.0 / size;
  const std::vector<float> tissue = value_noise(rng, size, 8);
  const std::vector<float> fine = value_noise(rng, size, std::max(8, size / 4));
  const double spine_x = body.x, spine_y = body.y + 0.72 * body.ry, spine_r = 0.055;

  // Each organ's cross-section at this height: its semi-axes shrink towards its ends.
  double section[8];
  for (int i = 0; i < 8; ++i) {
    const Organ& o = body.organs[i];
    const double t = (z - o.z) / o.half_depth;
    section[i] = t * t < 1 ? std::sqrt(1 - t * t) : 0.0;
  }

  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const size_t p = static_cast<size_t>(y) * size + x;
      const double u = (x + 0.5) * pixel, v = (y + 0.5) * pixel;
      const double texture = tissue[p] - 0.5, grain = fine[p] - 0.5;

      // Air, subcutaneous fat, soft tissue, then the vertebra with its darker canal.
      const double outline = ellipse_radius(u - body.x, v - body.y, body.rx, body.ry);
      double value = outline > 1      ? 0.02
                     : outline > 0.86 ? 0.27 + 0.04 * texture
                                      : 0.42 + 0.06 * texture;
      const double spine = std::hypot(u - spine_x, v - spine_y);
      if (spine < spine_r) value = spine < 0.45 * spine_r ? 0.35 : 0.88 + 0.05 * grain;
      uint8_t cls = 0;

      for (int i : kPaintOrder) {
        if (section[i] <= 0) continue;
        const Organ& o = body.organs[i];
        const double du = u - o.x, dv = v - o.y;
        const double ca = std::cos(o.angle), sa = std::sin(o.angle);
        const double a = du * ca + dv * sa, b = -du * sa + dv * ca;
        const double rx = o.rx * section[i], ry = o.ry * section[i];
        const double r = ellipse_radius(a, b, rx, ry);
        const double theta = std::atan2(b / ry, a / rx);
        double boundary = 1.0;
        for (int k = 0; k < 3; ++k)
          boundary += o.harmonics[k] * std::cos((k + 2) * theta + o.phases[k]);
        // Depth inside the outline in pixels (approximate), for a partial-volume edge.
        const double depth = (boundary - r) * std::min(rx, ry) / pixel;
        if (depth <= -1) continue;
        double organ_value = o.intensity + o.texture * (texture + 0.5 * grain);
        if ((i == kKidneyL || i == kKidneyR) && r < 0.4 * boundary) organ_value -= 0.18;
        if (i == kStomach && b < -0.45 * ry && r < 0.8 * boundary) organ_value = 0.04;
        const double edge = std::clamp(0.5 + depth / 1.5, 0.0, 1.0);
        value += (organ_value - value) * edge;
        if (depth > 0) cls = static_cast<uint8_t>(i + 1);
      }
      value += 0.03 * rng.normal();
      image[p] = static_cast<float>(std::clamp(value, 0.0, 1.0));
      label[p] = cls;
    }
}

}  // namespace vmunet::synthetic
