#include "storage/dataset_tensors.h"

#include <memory>

#include "storage/dataset_h5.h"

namespace vmunet {
namespace {

// A tensor that owns `values` (no copy on the CPU), moved to `device` if that is elsewhere.
template <typename T>
torch::Tensor owning_tensor(std::vector<T>&& values, std::vector<int64_t> shape,
                            torch::ScalarType dtype, const torch::Device& device) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  if (owner->empty()) return torch::empty(shape, torch::TensorOptions(dtype).device(device));
  torch::Tensor tensor = torch::from_blob(
      owner->data(), shape, [owner](void*) mutable { owner.reset(); }, torch::TensorOptions(dtype));
  return device.is_cpu() ? tensor : tensor.to(device);
}

SplitTensors split_tensors(ImageSet&& set, const torch::Device& device) {
  SplitTensors out;
  out.images =
      owning_tensor(std::move(set.images), {set.count, set.height, set.width, set.channels},
                    torch::kUInt8, device);
  out.masks = owning_tensor(std::move(set.masks), {set.count, set.height, set.width}, torch::kUInt8,
                            device);
  out.names = std::move(set.names);
  return out;
}

DatasetTensors to_tensors(Dataset data, const torch::Device& device) {
  DatasetTensors out;
  out.meta = std::move(data.meta);
  out.train = split_tensors(std::move(data.train), device);
  out.test = split_tensors(std::move(data.test), device);
  for (Volume& volume : data.volumes) {
    const std::vector<int64_t> shape{volume.depth, volume.height, volume.width};
    out.volumes.push_back({volume.name,
                           owning_tensor(std::move(volume.image), shape, torch::kFloat32, device),
                           owning_tensor(std::move(volume.label), shape, torch::kUInt8, device)});
  }
  return out;
}

}  // namespace

DatasetTensors load_dataset_tensors(const std::string& path, const torch::Device& device) {
  return to_tensors(read_dataset(path), device);
}

}  // namespace vmunet
