// Command-line mistakes reported like every other error: one `vmunet: error:` line on stderr and
// exit status 2 (the usual status for usage errors), instead of CLI11's two lines and its own
// codes; a misspelt subcommand gets a suggestion. --help and --version keep CLI11's output.
#pragma once

#include <CLI/CLI.hpp>

namespace vmunet::cli {

int report_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv);

}  // namespace vmunet::cli
