// Subcommand registry: each cli/cmd_<name>.cpp registers a function that adds its subcommand (with
// a callback doing the work) to the app, so new subcommands need no edit to main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace vmunet::cli {

using AddCommand = std::function<void(CLI::App&)>;

std::vector<AddCommand>& all_commands();

// Call at namespace scope: `static const bool reg = vmunet::cli::register_command(add_info);`
bool register_command(AddCommand add);

}  // namespace vmunet::cli
