// `vmunet info`: parameter count, per-stage shapes and FLOPs of a model config.
#include <spdlog/fmt/fmt.h>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "model/flops.h"
#include "model/vmunet.h"

namespace vmunet::cli {
namespace {

std::string hwc(const std::array<int64_t, 3>& s) {
  return fmt::format("{}x{}x{}", s[0], s[1], s[2]);
}

// Parameters of each stage of model_cost's list, in the same order.
std::vector<int64_t> stage_parameters(VMUNet& net) {
  std::vector<int64_t> out{parameter_count(*net->patch_embed)};
  for (const auto& layer : *net->layers) out.push_back(parameter_count(*layer));
  for (const auto& layer : *net->layers_up) out.push_back(parameter_count(*layer));
  out.push_back(parameter_count(*net->final_up) + parameter_count(*net->final_conv));
  return out;
}

void print_info(const ModelConfig& config, int64_t height, int64_t width) {
  const auto stages = model_cost(config, height, width);  // validates the size first
  VMUNet net(config);
  const auto params = stage_parameters(net);
  const StageCost total = total_cost(stages);

  std::cout << "model: " << model_config_to_json(config).dump() << "\n"
            << "parameters: " << parameter_count(*net) << "\n"
            << fmt::format("input: 1x{}x{}x{}; shapes below are HxWxC per image\n",
                           config.in_channels, height, width)
            << fmt::format("{:<13} {:>13} {:>13} {:>11} {:>8} {:>11}\n", "stage", "input", "output",
                           "parameters", "GMACs", "scan GFLOP");
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    std::cout << fmt::format("{:<13} {:>13} {:>13} {:>11} {:>8.3f} {:>11.3f}\n", s.name,
                             hwc(s.input), hwc(s.output), params[i], s.macs() / 1e9,
                             s.scan_flops / 1e9);
  }
  const double G = 1e9;
  std::cout << fmt::format("GFLOPs for one {}x{} image:\n", height, width)
            << fmt::format(
                   "  multiply-adds, Conv2d and Linear layers (biases not counted): {:.3f}\n",
                   total.linear_macs / G)
            << fmt::format(
                   "  multiply-adds, SS2D x_proj and dt_proj projections:           {:.3f}\n",
                   total.proj_macs / G)
            << fmt::format(
                   "  selective scan, 9 per (channel, position, state) + 1 per (channel, "
                   "position), 4 x d_inner channels: {:.3f}\n",
                   total.scan_flops / G)
            << fmt::format("  total (multiply-adds + scan): {:.3f}\n",
                           (total.macs() + total.scan_flops) / G)
            << fmt::format(
                   "  paper convention (thop: Conv2d/Linear multiply-adds + 4 per LayerNorm "
                   "element, no projections, no scan): {:.3f}\n",
                   total.paper_flops() / G);
}

void add_info(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "info", "Print a model's exact parameter count, per-stage shapes and GFLOPs");
  auto model = std::make_shared<std::string>();
  auto size = std::make_shared<std::vector<int64_t>>(std::vector<int64_t>{256, 256});
  sub->add_option("--model", *model, "model JSON (dims or embed_dim, depths, depths_decoder, ...)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--input-size", *size, "input height and width")
      ->expected(2)
      ->capture_default_str();
  sub->callback([model, size] { print_info(load_model_config(*model), (*size)[0], (*size)[1]); });
}

const bool registered = register_command(add_info);

}  // namespace
}  // namespace vmunet::cli
