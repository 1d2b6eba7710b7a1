#include "sweep/run_cost.h"

#include <algorithm>

#include "model/flops.h"
#include "model/model_config.h"

namespace vmunet {

double expected_cost(const nlohmann::json& resolved, const DatasetProbe& probe) {
  const auto& data = resolved["data"];
  std::optional<DatasetShape> shape;
  if (probe) shape = probe(data["path"].get<std::string>());
  if (!shape && data["synthetic"]["if_missing"].get<bool>())
    shape = DatasetShape{data["synthetic"]["size"].get<int64_t>(),
                         data["synthetic"]["train"].get<int64_t>()};
  if (!shape || shape->resolution <= 0) return 0;

  const ModelConfig model = model_config_from_json(resolved["model"]);
  const int64_t r = shape->resolution;
  if (r % model.size_multiple() != 0) return 0;  // the trainer reports the mismatch
  const StageCost total = total_cost(model_cost(model, r, r));
  const double forward = 2 * total.macs() + total.scan_flops + 4 * total.norm_elements;

  const auto& train = resolved["train"];
  int64_t images = shape->train_images;
  const int64_t max_steps = train["max_steps_per_epoch"].get<int64_t>();
  if (max_steps > 0) images = std::min(images, max_steps * train["batch_size"].get<int64_t>());
  return 3 * forward * static_cast<double>(images) * train["epochs"].get<double>();
}

}  // namespace vmunet
