// Augmentation keeps image and mask aligned under every transform, its rotation path agrees with
// rot90 and with a scipy-style nearest rotation written as loops, and its draws are reproducible
// from (seed, epoch, step) and slice cleanly across data-parallel ranks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "worker/augment.h"

namespace vmunet {
namespace {

IsicAugmentConfig nearest_images() {
  IsicAugmentConfig c;
  c.image_interpolation = Interpolation::nearest;
  return c;
}

// ISIC params for `n` samples that all get exactly the listed transforms.
IsicAugmentParams isic_params(int64_t n, bool hflip, bool vflip, bool rotate, double angle) {
  return {torch::full({n}, hflip, torch::kBool), torch::full({n}, vflip, torch::kBool),
          torch::full({n}, rotate, torch::kBool), torch::full({n}, angle, torch::kDouble)};
}

SynapseAugmentParams synapse_params(int64_t kind, int64_t k, int64_t axis, int64_t angle) {
  auto one = [](int64_t v) { return torch::full({1}, v, torch::kLong); };
  return {one(kind), one(k), one(axis), one(angle)};
}

// The mapping of scipy.ndimage.rotate(x, angle, order=0, reshape=False) (axes sorted to (row,
// col), matrix [[c, s], [−s, c]] from output to input) for one (H, W) double image: output pixel
// (i, j) takes the input at R⁻¹·(i, j) about the centre ((H−1)/2, (W−1)/2), rounded; 0 if that
// falls outside.
torch::Tensor reference_rotate_nearest(const torch::Tensor& img, double degrees) {
  const int64_t H = img.size(0), W = img.size(1);
  const double a = degrees * M_PI / 180, c = std::cos(a), s = std::sin(a);
  const double cy = (H - 1) / 2.0, cx = (W - 1) / 2.0;
  auto out = torch::zeros_like(img);
  auto in = img.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) {
      const double xo = j - cx, yo = i - cy;
      const auto col = std::lround(c * xo - s * yo + cx), row = std::lround(s * xo + c * yo + cy);
      if (row >= 0 && row < H && col >= 0 && col < W) o[i][j] = in[row][col];
    }
  return out;
}

TEST(IsicAugment, ImageAndMaskStayAlignedUnderEveryDraw) {
  // Image channel 0 is the mask itself; under nearest it must still be the mask afterwards.
  torch::manual_seed(1);
  for (auto shape : {std::vector<int64_t>{24, 16, 16}, std::vector<int64_t>{24, 12, 20}}) {
    const int64_t B = shape[0], H = shape[1], W = shape[2];
    auto masks = (torch::rand({B, H, W}) > 0.5).to(torch::kByte);
    auto images = torch::cat({masks.unsqueeze(1).to(torch::kFloat), torch::rand({B, 2, H, W})}, 1);
    auto config = nearest_images();
    auto gen = augment_generator(9, 0, 0);
    const auto params = draw_isic_params(B, config, gen);
    ASSERT_GT(params.rotate.sum().item<int64_t>(), 0);
    ASSERT_GT(params.hflip.logical_and(params.vflip).sum().item<int64_t>(), 0);
    auto [x, m] = apply_isic_augment(images, masks, params, config);
    EXPECT_EQ(m.sizes(), masks.sizes());
    EXPECT_EQ(m.scalar_type(), torch::kByte);
    EXPECT_TRUE(torch::equal(x.select(1, 0), m.to(torch::kFloat)));
    // Samples drawn without any transform come back bit for bit.
    auto untouched =
        (params.hflip | params.vflip | params.rotate).logical_not().nonzero().flatten();
    EXPECT_TRUE(torch::equal(x.index_select(0, untouched), images.index_select(0, untouched)));
  }
}

TEST(IsicAugment, FlipsAreTheFlipsTheyName) {
  auto images = torch::arange(2 * 3 * 4 * 5, torch::kFloat).view({2, 3, 4, 5});
  auto masks = torch::arange(2 * 4 * 5, torch::kFloat).view({2, 1, 4, 5});
  const IsicAugmentConfig config;
  auto [xh, mh] = apply_isic_augment(images, masks, isic_params(2, true, false, false, 0), config);
  EXPECT_TRUE(torch::equal(xh, images.flip({3})));
  EXPECT_TRUE(torch::equal(mh, masks.flip({3})));
  auto [xv, mv] = apply_isic_augment(images, masks, isic_params(2, false, true, false, 0), config);
  EXPECT_TRUE(torch::equal(xv, images.flip({2})));
  EXPECT_TRUE(torch::equal(mv, masks.flip({2})));
}

TEST(IsicAugment, RotationByRightAnglesIsRot90) {
  torch::manual_seed(2);
  auto images = torch::rand({3, 3, 8, 8});
  auto masks = torch::randint(0, 2, {3, 8, 8}, torch::kLong);
  for (int k = 1; k < 4; ++k) {
    const auto p = isic_params(3, false, false, true, 90.0 * k);
    auto [x, m] = apply_isic_augment(images, masks, p, nearest_images());
    EXPECT_TRUE(torch::equal(x, images.rot90(k, {2, 3}))) << k * 90 << " degrees";
    EXPECT_TRUE(torch::equal(m, masks.rot90(k, {1, 2}))) << k * 90 << " degrees";
    auto [xb, mb] = apply_isic_augment(images, masks, p, IsicAugmentConfig{});
    EXPECT_LT((xb - images.rot90(k, {2, 3})).abs().max().item<double>(), 1e-4);
    EXPECT_TRUE(torch::equal(mb, masks.rot90(k, {1, 2})));
  }
  // 90° turns content counter-clockwise: the top-right pixel ends up top-left.
  auto corner = torch::zeros({1, 1, 4, 4});
  corner[0][0][0][3] = 1;
  auto [turned, unused] = apply_isic_augment(
      corner, torch::zeros({1, 4, 4}), isic_params(1, false, false, true, 90), nearest_images());
  EXPECT_EQ(turned[0][0][0][0].item<float>(), 1.0f);
  // Non-square: 180° is both flips.
  auto wide = torch::rand({2, 1, 6, 10});
  auto [half_turn, m180] = apply_isic_augment(
      wide, torch::zeros({2, 6, 10}), isic_params(2, false, false, true, 180), nearest_images());
  EXPECT_TRUE(torch::equal(half_turn, wide.flip({2, 3})));
}

TEST(IsicAugment, BilinearRotationKeepsValuesInsideAndFillsZerosOutside) {
  // A constant image rotated by 45° bilinearly keeps its value where the whole 2×2 footprint is
  // inside, and is 0 in the corners rotated in from outside.
  auto images = torch::full({1, 1, 32, 32}, 5.0);
  auto [x, m] = apply_isic_augment(images, torch::ones({1, 32, 32}),
                                   isic_params(1, false, false, true, 45), IsicAugmentConfig{});
  EXPECT_NEAR(x[0][0][16][16].item<float>(), 5.0f, 1e-4);
  EXPECT_EQ(x[0][0][0][0].item<float>(), 0.0f);
  EXPECT_EQ(m[0][16][16].item<float>(), 1.0f);
  EXPECT_EQ(m[0][0][0].item<float>(), 0.0f);
}

TEST(IsicAugment, FixedAngleRotatesEverySampleByTheRunsAngle) {
  IsicAugmentConfig config;
  config.rotation = RotationMode::fixed_angle;
  config.fixed_angle = draw_fixed_angle(42);
  EXPECT_EQ(config.fixed_angle, draw_fixed_angle(42));
  EXPECT_NE(config.fixed_angle, draw_fixed_angle(43));
  EXPECT_GE(config.fixed_angle, 0.0);
  EXPECT_LT(config.fixed_angle, 360.0);
  for (int64_t step = 0; step < 3; ++step) {
    auto gen = augment_generator(42, 0, step);
    const auto p = draw_isic_params(16, config, gen);
    EXPECT_TRUE(torch::all(p.angle == config.fixed_angle).item<bool>());
  }
}

TEST(IsicAugment, DrawsHaveTheConfiguredProbabilitiesAndRange) {
  auto gen = augment_generator(5, 1, 2);
  IsicAugmentConfig config;
  config.vflip = 0.2;
  const auto p = draw_isic_params(20000, config, gen);
  EXPECT_NEAR(p.hflip.to(torch::kDouble).mean().item<double>(), 0.5, 0.02);
  EXPECT_NEAR(p.vflip.to(torch::kDouble).mean().item<double>(), 0.2, 0.02);
  EXPECT_NEAR(p.rotate.to(torch::kDouble).mean().item<double>(), 0.5, 0.02);
  EXPECT_GE(p.angle.min().item<double>(), 0.0);
  EXPECT_LT(p.angle.max().item<double>(), 360.0);
  EXPECT_NEAR(p.angle.mean().item<double>(), 180.0, 5.0);
}

TEST(Augment, SameSeedEpochStepGivesSameDrawsAndShardsCompose) {
  const IsicAugmentConfig config;
  auto g1 = augment_generator(7, 3, 5), g2 = augment_generator(7, 3, 5);
  auto g3 = augment_generator(7, 3, 6), g4 = augment_generator(7, 4, 5);
  const auto a = draw_isic_params(64, config, g1), b = draw_isic_params(64, config, g2);
  EXPECT_TRUE(torch::equal(a.hflip, b.hflip) && torch::equal(a.angle, b.angle));
  EXPECT_FALSE(torch::equal(a.angle, draw_isic_params(64, config, g3).angle));
  EXPECT_FALSE(torch::equal(a.angle, draw_isic_params(64, config, g4).angle));

  // Two ranks applying their slices of the global draws reproduce the one-rank batch.
  torch::manual_seed(3);
  auto images = torch::rand({6, 3, 10, 10});
  auto masks = (torch::rand({6, 10, 10}) > 0.5).to(torch::kFloat);
  const auto [x, m] = apply_isic_augment(images, masks, a.slice(0, 6), config);
  const auto [x0, m0] =
      apply_isic_augment(images.narrow(0, 0, 4), masks.narrow(0, 0, 4), a.slice(0, 4), config);
  const auto [x1, m1] =
      apply_isic_augment(images.narrow(0, 4, 2), masks.narrow(0, 4, 2), a.slice(4, 2), config);
  EXPECT_TRUE(torch::allclose(torch::cat({x0, x1}), x, 0, 1e-6));
  EXPECT_TRUE(torch::equal(torch::cat({m0, m1}), m));

  auto s1 = augment_generator(8, 0, 0), s2 = augment_generator(8, 0, 0);
  const auto sa = draw_synapse_params(32, s1), sb = draw_synapse_params(32, s2);
  EXPECT_TRUE(torch::equal(sa.kind, sb.kind) && torch::equal(sa.angle, sb.angle) &&
              torch::equal(sa.k, sb.k) && torch::equal(sa.flip_axis, sb.flip_axis));
  EXPECT_TRUE(torch::equal(sa.slice(8, 4).angle, sa.angle.narrow(0, 8, 4)));
}

TEST(SynapseAugment, RotFlipFollowsNumpyOrder) {
  // np.rot90([[1,2],[3,4]], k) then np.flip(axis), worked by hand.
  auto x = torch::tensor({1.0, 2.0, 3.0, 4.0}).view({1, 1, 2, 2});
  auto labels = torch::tensor({1, 2, 3, 4}, torch::kLong).view({1, 2, 2});
  auto check = [&](int64_t k, int64_t axis, std::vector<double> expected) {
    auto [img, lab] = apply_synapse_augment(x, labels, synapse_params(1, k, axis, 0));
    EXPECT_TRUE(torch::equal(img, torch::tensor(expected).view({1, 1, 2, 2})))
        << "k " << k << " axis " << axis << ": " << img;
    EXPECT_TRUE(torch::equal(lab.to(torch::kDouble), img.view({1, 2, 2})));
  };
  check(0, 0, {3, 4, 1, 2});  // flip rows only
  check(1, 0, {1, 3, 2, 4});  // rot90 → [[2,4],[1,3]], flip rows
  check(1, 1, {4, 2, 3, 1});  // rot90 → [[2,4],[1,3]], flip columns
  check(2, 0, {2, 1, 4, 3});  // rot180 → [[4,3],[2,1]], flip rows
  check(3, 1, {1, 3, 2, 4});  // rot270 → [[3,1],[4,2]], flip columns
}

TEST(SynapseAugment, SmallRotationIsScipyNearest) {
  torch::manual_seed(4);
  auto img = torch::rand({1, 1, 21, 21}, torch::kDouble);
  for (int64_t angle : {-20, -13, -1, 7, 19}) {
    auto [x, unused] = apply_synapse_augment(img, torch::zeros({1, 21, 21}, torch::kLong),
                                             synapse_params(2, 0, 0, angle));
    auto expected = reference_rotate_nearest(img[0][0], static_cast<double>(angle));
    EXPECT_TRUE(torch::equal(x[0][0], expected)) << angle << " degrees";
  }
}

TEST(SynapseAugment, ImageAndLabelStayAlignedUnderEveryDraw) {
  torch::manual_seed(5);
  const int64_t B = 48;
  auto labels = torch::randint(0, 9, {B, 14, 14}, torch::kLong);
  auto images = labels.unsqueeze(1).to(torch::kFloat).repeat({1, 3, 1, 1});
  auto gen = augment_generator(11, 2, 3);
  const auto p = draw_synapse_params(B, gen);
  ASSERT_GT((p.kind == 1).sum().item<int64_t>(), 0);
  ASSERT_GT((p.kind == 2).sum().item<int64_t>(), 0);
  ASSERT_GT((p.kind == 0).sum().item<int64_t>(), 0);
  auto [x, y] = apply_synapse_augment(images, labels, p);
  EXPECT_EQ(y.scalar_type(), torch::kLong);
  EXPECT_EQ(y.sizes(), labels.sizes());
  for (int c = 0; c < 3; ++c) EXPECT_TRUE(torch::equal(x.select(1, c), y.to(torch::kFloat)));
  auto none = (p.kind == 0).nonzero().flatten();
  EXPECT_TRUE(torch::equal(y.index_select(0, none), labels.index_select(0, none)));
}

TEST(SynapseAugment, DrawsMirrorRandomGenerator) {
  auto gen = augment_generator(1, 0, 0);
  const auto p = draw_synapse_params(20000, gen);
  auto frac = [&](int64_t kind) {
    return (p.kind == kind).to(torch::kDouble).mean().item<double>();
  };
  EXPECT_NEAR(frac(1), 0.5, 0.02);
  EXPECT_NEAR(frac(2), 0.25, 0.02);
  EXPECT_NEAR(frac(0), 0.25, 0.02);
  EXPECT_EQ(p.angle.min().item<int64_t>(), -20);
  EXPECT_EQ(p.angle.max().item<int64_t>(), 19);  // np.random.randint(-20, 20) excludes 20
  EXPECT_EQ(p.k.min().item<int64_t>(), 0);
  EXPECT_EQ(p.k.max().item<int64_t>(), 3);
  EXPECT_EQ(p.flip_axis.min().item<int64_t>(), 0);
  EXPECT_EQ(p.flip_axis.max().item<int64_t>(), 1);
}

}  // namespace
}  // namespace vmunet
