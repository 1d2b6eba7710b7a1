// .h5 inputs (predict.h): a prepared dataset's test volumes, or TransUNet-style case files,
// segmented slice by slice as the trainer's evaluation does, into <out>/predictions.h5.
#include <torch/torch.h>

#include <filesystem>
#include <optional>
#include <set>

#include "common/error.h"
#include "predict/predict_inputs.h"
#include "storage/case_volumes_h5.h"
#include "storage/dataset_h5.h"
#include "storage/npy.h"
#include "worker/checkpoint.h"
#include "worker/evaluate.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

struct CaseInput {
  std::string name;
  torch::Tensor image;                 // float (D, H, W) in [0, 1]
  std::optional<torch::Tensor> label;  // uint8 (D, H, W)
};

torch::Tensor tensor_of(Volume3<float>&& v) {
  return torch::from_blob(v.values.data(), {v.depth, v.height, v.width}, torch::kFloat).clone();
}

std::vector<CaseInput> read_cases(const std::string& path) {
  std::vector<CaseInput> cases;
  if (h5_root_has(path, "format_version")) {  // a prepared dataset: its test volumes
    const Dataset data = read_dataset(path);
    if (data.volumes.empty())
      throw Error(path + ": a prepared dataset without test volumes (nothing to predict)");
    for (const Volume& v : data.volumes) {
      const std::vector<int64_t> shape{v.depth, v.height, v.width};
      cases.push_back(
          {v.name, torch::tensor(v.image).view(shape),
           torch::from_blob(const_cast<uint8_t*>(v.label.data()), shape, torch::kUInt8).clone()});
    }
    return cases;
  }
  CaseInput c{fs::path(path).stem().string(), tensor_of(read_float_volume(path, "image")), {}};
  if (h5_root_has(path, "label")) {
    auto label = tensor_of(read_float_volume(path, "label"));
    if (label.sizes() != c.image.sizes()) throw Error(path + ": /label and /image differ in shape");
    c.label = label.round().clamp(0, 255).to(torch::kUInt8);
  }
  cases.push_back(std::move(c));
  return cases;
}

Volume3<uint8_t> volume_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return {c.size(0), c.size(1), c.size(2),
          std::vector<uint8_t>(c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel())};
}

}  // namespace

void predict_volume_files(const std::vector<std::string>& files, PredictContext& c) {
  const std::string out = (fs::path(c.options.out_dir) / "predictions.h5").string();
  if (!files.empty() && fs::exists(out)) fs::remove(out);
  std::set<std::string> written;
  auto& m = c.model;
  const auto device = m.model->parameters().front().device();
  for (const std::string& path : files) {
    c.progress->advance(1);
    if (m.meta.task != Task::multiclass) {
      c.skip(path, "volumes need a multiclass model; this one is binary (give image files)");
      continue;
    }
    std::vector<CaseInput> cases;
    try {
      cases = read_cases(path);
    } catch (const Error& e) {
      c.skip(path, e.what());
      continue;
    }
    for (const CaseInput& input : cases) {
      if (!written.insert(input.name).second) {
        c.skip(path, "case " + input.name + " was already predicted from an earlier input");
        continue;
      }
      const auto pred = predict_slices(m.model, *c.forward, input.image.to(device),
                                       m.meta.input_size, c.options.batch, c.options.probabilities);
      write_case_volume(out, input.name, "pred", volume_of(pred.classes));
      if (input.label) write_case_volume(out, input.name, "label", volume_of(*input.label));
      if (c.options.probabilities) {
        const auto p = pred.probabilities.contiguous();
        const fs::path dir = fs::path(c.options.out_dir) / "probabilities";
        fs::create_directories(dir);
        const std::string npy = (dir / (input.name + ".npy")).string();
        write_file_atomically(npy, npy_float32_bytes(p.sizes().vec(), p.data_ptr<float>()));
      }
      ++c.summary.written;
    }
  }
}

}  // namespace vmunet
