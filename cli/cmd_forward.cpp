// `vmunet forward`: one eval-mode forward pass of a model on the tensor `input` of a safetensors
// file, writing `logits` and `output` (sigmoid for one class, the logits otherwise).
#include <spdlog/fmt/fmt.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/error.h"
#include "model/vmunet.h"
#include "model/weights.h"

namespace vmunet::cli {
namespace {

struct ForwardArgs {
  std::string model, weights, input, output;
};

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// Weights and inputs must be float32 (or a half type widening exactly to it) and finite: other
// dtypes are not what the network was trained in, and a NaN would flow silently into the output.
void check_tensor(const std::string& path, const std::string& name, const torch::Tensor& t) {
  const auto type = t.scalar_type();
  if (type != torch::kFloat && type != torch::kHalf && type != torch::kBFloat16)
    throw Error(fmt::format("{}: tensor '{}' is {}; expected F32 (or F16/BF16)", path, name,
                            c10::toString(type)));
  const int64_t bad = t.numel() - torch::isfinite(t).sum().item<int64_t>();
  if (bad > 0)
    throw Error(fmt::format("{}: tensor '{}' holds {} NaN or infinite values of {}; fix the file",
                            path, name, bad, t.numel()));
}

// The tensor `input`, checked against what the network accepts.
torch::Tensor read_input(const std::string& path, const ModelConfig& config) {
  auto file = read_safetensors(path);
  auto it = file.tensors.find("input");
  if (it == file.tensors.end())
    throw Error(path + ": no tensor named 'input' (" + std::to_string(file.tensors.size()) +
                " tensors in the file)");
  const auto& x = it->second;
  check_tensor(path, "input", x);
  const int64_t m = config.size_multiple();
  if (x.dim() != 4 || x.size(0) == 0 || x.size(1) != config.in_channels || x.size(2) % m != 0 ||
      x.size(3) % m != 0 || x.size(2) == 0 || x.size(3) == 0)
    throw Error(
        fmt::format("{}: tensor 'input' is {} {}; the model needs a (batch >= 1, {}, H, W) "
                    "tensor with H and W positive multiples of {}",
                    path, c10::toString(x.scalar_type()), shape_str(x), config.in_channels, m));
  return x.to(torch::kFloat);
}

void run_forward(const ForwardArgs& a) {
  const ModelConfig config = load_model_config(a.model);
  VMUNet net(config);
  const TensorMap weights = model_weights(read_safetensors(a.weights).tensors);
  const TensorMap targets = named_tensors(*net);
  for (const auto& [name, t] : weights)
    if (targets.count(name)) check_tensor(a.weights, name, t);
  const LoadReport report = load_by_name(*net, weights);
  if (!report.complete())
    throw Error(a.weights + ": weights do not match the model of " + a.model + ": " +
                report.summary());
  net->eval();
  const torch::Tensor x = read_input(a.input, config);

  torch::NoGradGuard no_grad;
  const torch::Tensor logits = net->forward(x);
  const torch::Tensor output = net->output(logits);
  if (!torch::isfinite(logits).all().item<bool>())
    throw Error(a.weights + ": the network's output on " + a.input +
                " is not finite (weights or input too large?); nothing written to " + a.output);
  write_safetensors(
      a.output, {{"logits", logits}, {"output", output}},
      {{"model", model_config_to_json(config).dump()}, {"source", "vmunet forward, eval mode"}});
  std::cout << fmt::format("loaded {} weight tensors from {}\n", report.loaded, a.weights)
            << fmt::format("input {} -> logits {} (min {:.6g}, max {:.6g}, mean {:.6g})\n",
                           shape_str(x), shape_str(logits), logits.min().item<double>(),
                           logits.max().item<double>(), logits.mean().item<double>())
            << fmt::format("wrote logits and output ({}) to {}\n",
                           config.num_classes == 1 ? "sigmoid" : "logits", a.output);
}

void add_forward(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "forward", "Run the network in eval mode on the tensor 'input' of a safetensors file");
  auto args = std::make_shared<ForwardArgs>();
  sub->add_option("--model", args->model, "model JSON (dims or embed_dim, depths, ...)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--weights", args->weights,
                  "safetensors with every parameter as <name> or weight.<name>")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--input", args->input, "safetensors with a tensor 'input' (B, C, H, W)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--output", args->output, "safetensors to write with 'logits' and 'output'")
      ->required();
  sub->callback([args] { run_forward(*args); });
}

const bool registered = register_command(add_forward);

}  // namespace
}  // namespace vmunet::cli
