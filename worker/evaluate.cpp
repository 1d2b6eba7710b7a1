#include "worker/evaluate.h"

#include <torch/torch.h>

#include "metrics/confusion_metrics.h"
#include "metrics/volume_metrics.h"
#include "worker/data_pipeline.h"

namespace vmunet {

EvalResult evaluate_binary(VMUNet& model, const torch::Tensor& inputs, const torch::Tensor& masks,
                           double threshold, int64_t batch_size, Communicator& comm,
                           const LossWeights& loss_weights, bool cuda_graph) {
  torch::NoGradGuard no_grad;
  model->eval();
  CapturedForward forward(model, cuda_graph);
  BinaryConfusion confusion;
  // BCE and Dice are both means over samples of equal size, so the batch losses weighted by their
  // sample counts sum to the loss over the whole test split.
  double loss_sum = 0;
  const auto [begin, end] = rank_share(inputs.size(0), comm.rank(), comm.size());
  for (int64_t i = begin; i < end; i += batch_size) {
    const int64_t n = std::min(batch_size, end - i);
    auto probs = model->output(forward(inputs.narrow(0, i, n)));
    const auto target = network_target(masks.narrow(0, i, n), Task::binary).to(probs.dtype());
    loss_sum += n * bce_dice_loss(probs, target, loss_weights).item<double>();
    confusion.add(probs.squeeze(1), masks.narrow(0, i, n), threshold);
  }
  const auto counts = confusion.to_array();
  auto t = torch::tensor(std::vector<int64_t>(counts.begin(), counts.end()), torch::kLong);
  comm.all_reduce_sum(t);
  auto loss = torch::tensor({loss_sum}, torch::kDouble);
  comm.all_reduce_sum(loss);
  std::array<int64_t, 4> total{};
  for (int k = 0; k < 4; ++k) total[k] = t[k].item<int64_t>();
  const auto all = BinaryConfusion::from_array(total);
  const auto m = all.metrics();
  EvalResult r;
  r.metrics = {{"miou", m.miou},       {"dsc", m.dsc},
               {"acc", m.acc},         {"spe", m.spe},
               {"sen", m.sen},         {"tp", double(all.tp)},
               {"fp", double(all.fp)}, {"fn", double(all.fn)},
               {"tn", double(all.tn)}, {"loss", loss.item<double>() / double(inputs.size(0))}};
  return r;
}

SlicePrediction predict_slices(VMUNet& model, CapturedForward& forward, const torch::Tensor& slices,
                               int64_t size, int64_t batch_size, bool probabilities) {
  namespace F = torch::nn::functional;
  torch::NoGradGuard no_grad;
  const auto device = model->parameters().front().device();
  const int64_t D = slices.size(0), H = slices.size(1), W = slices.size(2);
  const bool resize = H != size || W != size;
  std::vector<torch::Tensor> classes, probs;
  for (int64_t z = 0; z < D; z += batch_size) {
    const int64_t n = std::min(batch_size, D - z);
    auto x = slices.narrow(0, z, n).unsqueeze(1).to(device, torch::kFloat);
    if (resize)
      x = F::interpolate(x, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{size, size})
                                .mode(torch::kBicubic)
                                .align_corners(false));
    const auto logits = forward(x);
    auto cls = logits.argmax(1, true).to(torch::kFloat);
    if (resize)
      cls = F::interpolate(
          cls, F::InterpolateFuncOptions().size(std::vector<int64_t>{H, W}).mode(torch::kNearest));
    classes.push_back(cls.squeeze(1).to(torch::kCPU, torch::kByte));
    if (probabilities) {
      auto p = logits.softmax(1);
      if (resize)
        p = F::interpolate(p, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{H, W})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
      probs.push_back(p.to(torch::kCPU));
    }
  }
  if (classes.empty()) return {torch::zeros({0, H, W}, torch::kByte), {}};
  return {torch::cat(classes, 0), probabilities ? torch::cat(probs, 0) : torch::Tensor()};
}

namespace {

std::vector<uint8_t> bytes_of(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kByte).contiguous();
  return std::vector<uint8_t>(c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel());
}

}  // namespace

EvalResult evaluate_volumes(VMUNet& model, const std::vector<VolumeTensors>& volumes,
                            const DatasetMeta& meta, int64_t size, int64_t batch_size,
                            Communicator& comm, bool cuda_graph) {
  torch::NoGradGuard no_grad;
  model->eval();
  CapturedForward forward(model, cuda_graph);
  const int num_classes = static_cast<int>(meta.num_classes());
  const int64_t V = static_cast<int64_t>(volumes.size()), organs = num_classes - 1;
  // Every rank fills its own volumes' rows; the sum over ranks is the full table, exactly.
  auto table = torch::zeros({V, organs, 2}, torch::kDouble);
  for (int64_t i = comm.rank(); i < V; i += comm.size()) {
    const auto& v = volumes[i];
    const Grid3 grid{v.image.size(0), v.image.size(1), v.image.size(2)};
    const auto scores =
        score_volume(bytes_of(predict_slices(model, forward, v.image, size, batch_size).classes),
                     bytes_of(v.label), grid, num_classes);
    for (int64_t o = 0; o < organs; ++o) {
      table[i][o][0] = scores[o].dice;
      table[i][o][1] = scores[o].hd95;
    }
  }
  comm.all_reduce_sum(table);

  EvalResult r;
  std::vector<std::vector<OrganScore>> all(V, std::vector<OrganScore>(organs));
  for (int64_t i = 0; i < V; ++i)
    for (int64_t o = 0; o < organs; ++o) {
      all[i][o] = {table[i][o][0].item<double>(), table[i][o][1].item<double>()};
      const auto& organ = meta.class_names[o + 1];
      r.cases[volumes[i].name]["dsc/" + organ] = all[i][o].dice;
      r.cases[volumes[i].name]["hd95/" + organ] = all[i][o].hd95;
    }
  const auto summary = summarize_volumes(all);
  r.metrics["dsc"] = summary.mean.dice;
  r.metrics["hd95"] = summary.mean.hd95;
  for (int64_t o = 0; o < organs; ++o) {
    r.metrics["dsc/" + meta.class_names[o + 1]] = summary.per_organ[o].dice;
    r.metrics["hd95/" + meta.class_names[o + 1]] = summary.per_organ[o].hd95;
  }
  return r;
}

}  // namespace vmunet
