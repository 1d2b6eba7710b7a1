#include "worker/data_pipeline.h"

#include <torch/torch.h>

namespace vmunet {

torch::Tensor network_input(const torch::Tensor& images, const Normalisation& norm, Task task) {
  auto x = images.permute({0, 3, 1, 2}).to(torch::kFloat);
  if (task == Task::multiclass) return x / 255.0;
  x = (x - norm.mean) / norm.std;
  const auto flat = x.flatten(1);
  const auto lo = std::get<0>(flat.min(1)).view({-1, 1, 1, 1});
  const auto hi = std::get<0>(flat.max(1)).view({-1, 1, 1, 1});
  // A constant image has no range; it maps to 0 rather than NaN.
  return (x - lo) / (hi - lo).clamp_min(1e-12) * 255.0;
}

torch::Tensor network_target(const torch::Tensor& masks, Task task) {
  if (task == Task::multiclass) return masks.to(torch::kLong);
  return masks.unsqueeze(1).to(torch::kFloat);
}

torch::Tensor epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  auto gen = at::detail::createCPUGenerator(seed * 1000003ull + static_cast<uint64_t>(epoch));
  return torch::randperm(n, gen, torch::kLong);
}

std::pair<int64_t, int64_t> rank_share(int64_t count, int rank, int size) {
  const int64_t base = count / size, extra = count % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace vmunet
