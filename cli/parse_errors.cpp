#include "cli/parse_errors.h"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

namespace vmunet::cli {
namespace {

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string names_of(const std::vector<CLI::App*>& subcommands) {
  std::string names;
  for (const CLI::App* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

}  // namespace

int report_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv) {
  if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
  // A command's own exit status (vmunet sweep's 2 and 3, predict's and evaluate's 2): it has
  // said why.
  if (dynamic_cast<const CLI::RuntimeError*>(&error)) return error.get_exit_code();
  std::string what = error.what();
  std::string command = "vmunet";
  // Walk the subcommand words; the first that names no subcommand is the mistake to point at.
  CLI::App* level = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    const std::string word = argv[i];
    const auto subcommands = level->get_subcommands([](CLI::App*) { return true; });
    if (subcommands.empty()) break;
    const auto found = std::find_if(subcommands.begin(), subcommands.end(),
                                    [&](CLI::App* sub) { return sub->check_name(word); });
    if (found == subcommands.end()) {
      const auto closest =
          std::min_element(subcommands.begin(), subcommands.end(), [&](CLI::App* a, CLI::App* b) {
            return edit_distance(word, a->get_name()) < edit_distance(word, b->get_name());
          });
      what = "unknown subcommand '" + word + "'";
      if (edit_distance(word, (*closest)->get_name()) <= 2)
        what += " (did you mean '" + (*closest)->get_name() + "'?)";
      else
        what += " (one of " + names_of(subcommands) + ")";
      break;
    }
    level = *found;
    command += " " + word;
  }
  if (level->get_subcommands([](CLI::App*) { return true; }).size() > 0 &&
      what.find("subcommand is required") != std::string::npos)
    what = "give a subcommand: " + names_of(level->get_subcommands([](CLI::App*) { return true; }));
  std::cerr << "vmunet: error: " << what.substr(0, what.find('\n')) << " (see " << command
            << " --help)" << std::endl;
  return 2;
}

}  // namespace vmunet::cli
