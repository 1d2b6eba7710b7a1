// `vmunet info`: parameter count, per-stage shapes and FLOPs of a model config.
#include <iostream>

#include "cli/commands.h"
#include "model/vmunet.h"

namespace vmunet::cli {
namespace {

void add_info(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "info", "Print a model's exact parameter count, per-stage shapes and GFLOPs");
  auto model = std::make_shared<std::string>();
  sub->add_option("--model", *model, "model JSON (dims or embed_dim, depths, depths_decoder, ...)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->callback([model] {
    VMUNet net(load_model_config(*model));
    std::cout << "parameters: " << parameter_count(*net) << "\n";
  });
}

const bool registered = register_command(add_info);

}  // namespace
}  // namespace vmunet::cli
