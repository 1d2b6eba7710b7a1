// vmunet: one binary, one subcommand per job. Each subcommand lives in its own cli/cmd_*.cpp and
// only parses arguments and calls the library; errors surface here as one line and a non-zero exit.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "common/error.h"
#include "common/version.h"

int main(int argc, char** argv) {
  CLI::App app{
      "vmunet: train, evaluate and sweep VM-UNet (Vision Mamba UNet) for medical image "
      "segmentation"};
  app.set_version_flag("--version", std::string("vmunet ") + vmunet::version() + " (" +
                                        vmunet::git_describe() + ")");
  app.require_subcommand(1);
  for (const auto& add : vmunet::cli::all_commands()) add(app);
  try {
    app.parse(argc, argv);  // the chosen subcommand's callback does the work
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vmunet::Error& e) {
    std::cerr << "vmunet: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vmunet: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
