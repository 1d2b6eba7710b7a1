#include "storage/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "storage/dataset_h5.h"
#include "storage/synthetic_draw.h"

namespace vmunet {
namespace {

// Independent streams per (split, sample), so sample i never depends on how many came before.
enum Stream : uint64_t {
  kSkinTrain = 1,
  kSkinTest,
  kCtTrainBody,
  kCtTrainSlice,
  kCtTestBody,
  kCtTestSlice
};

uint64_t stream_seed(uint64_t seed, Stream stream, uint64_t index) {
  uint64_t z = seed ^ (static_cast<uint64_t>(stream) << 56) ^ (index * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;  // SplitMix64 finaliser
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string numbered(const char* format, int64_t a, int64_t b = 0) {
  char text[64];
  std::snprintf(text, sizeof text, format, static_cast<long long>(a), static_cast<long long>(b));
  return text;
}

void add_skin_images(ImageSet& set, const SyntheticOptions& options, int64_t count, Stream stream,
                     const std::string& prefix) {
  const int64_t side = options.size;
  set = {count, side, side, 3, {}, {}, {}};
  set.images.resize(static_cast<size_t>(count * side * side * 3));
  set.masks.resize(static_cast<size_t>(count * side * side));
  for (int64_t i = 0; i < count; ++i) {
    Rng rng(stream_seed(options.seed, stream, static_cast<uint64_t>(i)));
    synthetic::draw_skin(rng, options.size, set.images.data() + i * side * side * 3,
                         set.masks.data() + i * side * side);
    set.names.push_back(prefix + numbered("%05lld", i));
  }
}

Dataset make_binary(const SyntheticOptions& options) {
  Dataset data;
  data.meta.name = "synthetic-binary";
  data.meta.task = Task::binary;
  data.meta.class_names = binary_class_names();
  add_skin_images(data.train, options, options.train, kSkinTrain, "skin_train_");
  add_skin_images(data.test, options, options.test, kSkinTest, "skin_test_");
  return data;
}

Dataset make_multiclass(const SyntheticOptions& options) {
  Dataset data;
  data.meta.name = "synthetic-multiclass";
  data.meta.task = Task::multiclass;
  data.meta.class_names = synapse_class_names();
  const int64_t side = options.size, plane = side * side, depth = options.slices_per_volume;

  ImageSet& train = data.train;
  train = {options.train, side, side, 1, {}, {}, {}};
  train.images.resize(static_cast<size_t>(options.train * plane));
  train.masks.resize(static_cast<size_t>(options.train * plane));
  std::vector<float> slice(static_cast<size_t>(plane));
  synthetic::CtBody body{};
  for (int64_t i = 0; i < options.train; ++i) {
    const int64_t patient = i / depth, index = i % depth;
    if (index == 0) {
      Rng body_rng(stream_seed(options.seed, kCtTrainBody, static_cast<uint64_t>(patient)));
      body = synthetic::random_ct_body(body_rng);
    }
    Rng rng(stream_seed(options.seed, kCtTrainSlice, static_cast<uint64_t>(i)));
    synthetic::draw_ct_slice(body, (index + 0.5) / depth, rng, options.size, slice.data(),
                             train.masks.data() + i * plane);
    std::transform(slice.begin(), slice.end(), train.images.begin() + i * plane,
                   [](float x) { return static_cast<uint8_t>(std::lround(x * 255.0f)); });
    train.names.push_back(numbered("ct%03lld_slice%03lld", patient, index));
  }

  for (int64_t first = 0, patient = 0; first < options.test; first += depth, ++patient) {
    Volume volume;
    volume.name = numbered("ct%03lld", patient);
    volume.depth = std::min(depth, options.test - first);
    volume.height = volume.width = side;
    volume.image.resize(static_cast<size_t>(volume.depth * plane));
    volume.label.resize(volume.image.size());
    Rng body_rng(stream_seed(options.seed, kCtTestBody, static_cast<uint64_t>(patient)));
    body = synthetic::random_ct_body(body_rng);
    for (int64_t index = 0; index < volume.depth; ++index) {
      Rng rng(stream_seed(options.seed, kCtTestSlice, static_cast<uint64_t>(first + index)));
      synthetic::draw_ct_slice(body, (index + 0.5) / volume.depth, rng, options.size,
                               volume.image.data() + index * plane,
                               volume.label.data() + index * plane);
    }
    data.volumes.push_back(std::move(volume));
  }
  return data;
}

}  // namespace

namespace synthetic {

std::vector<float> value_noise(Rng& rng, int size, int cells) {
  const int stride = cells + 1;
  std::vector<double> grid(static_cast<size_t>(stride) * stride);
  for (double& g : grid) g = rng.uniform();
  std::vector<float> noise(static_cast<size_t>(size) * size);
  const auto smooth = [](double t) { return t * t * (3 - 2 * t); };
  for (int y = 0; y < size; ++y) {
    const double gy = (y + 0.5) * cells / size;
    const int y0 = std::min(static_cast<int>(gy), cells - 1);
    const double ty = smooth(gy - y0);
    for (int x = 0; x < size; ++x) {
      const double gx = (x + 0.5) * cells / size;
      const int x0 = std::min(static_cast<int>(gx), cells - 1);
      const double tx = smooth(gx - x0);
      const double* row0 = &grid[static_cast<size_t>(y0) * stride + x0];
      const double* row1 = row0 + stride;
      const double top = row0[0] + (row0[1] - row0[0]) * tx;
      const double bottom = row1[0] + (row1[1] - row1[0]) * tx;
      noise[static_cast<size_t>(y) * size + x] = static_cast<float>(top + (bottom - top) * ty);
    }
  }
  return noise;
}

}  // namespace synthetic

Dataset make_synthetic(const SyntheticOptions& options) {
  if (options.train < 1 || options.test < 1)
    throw Error("prepare synthetic: --train and --test need at least 1 image each");
  if (options.size < 32 || options.size > 2048 || options.size % 32 != 0)
    throw Error("prepare synthetic: --size " + std::to_string(options.size) +
                " must be a multiple of 32 (the network downsamples 32x) in 32..2048");
  if (options.slices_per_volume < 1)
    throw Error("prepare synthetic: slices per volume must be at least 1");
  Dataset data = options.task == Task::binary ? make_binary(options) : make_multiclass(options);
  data.meta.resolution = options.size;
  data.meta.source = std::string("vmunet prepare synthetic --task ") + task_name(options.task) +
                     " --train " + std::to_string(options.train) + " --test " +
                     std::to_string(options.test) + " --size " + std::to_string(options.size) +
                     " --seed " + std::to_string(options.seed);
  if (options.task == Task::multiclass)
    data.meta.source += " --slices-per-volume " + std::to_string(options.slices_per_volume);
  return data;
}

void prepare_synthetic(const SyntheticOptions& options, const std::string& out, int gzip_level) {
  write_dataset(out, make_synthetic(options), gzip_level);
}

}  // namespace vmunet
