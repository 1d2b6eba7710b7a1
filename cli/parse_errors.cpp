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

// The name closest to `word`, or "" when none is within two edits and under half the word's
// length: a typo, not another word ("-x" is no misspelt "-h").
std::string closest(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = 3;
  for (const std::string& name : names)
    if (const size_t d = edit_distance(word, name); d < best_distance && 2 * d < word.size()) {
      best = name;
      best_distance = d;
    }
  return best;
}

std::vector<CLI::App*> subcommands_of(CLI::App* app) {
  return app->get_subcommands([](CLI::App*) { return true; });
}

std::string names_of(const std::vector<CLI::App*>& subcommands) {
  std::string names;
  for (const CLI::App* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();
  return names;
}

// Every spelling of `app`'s options ("--config", "-h", ...).
std::vector<std::string> option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

// The first argument no option or subcommand took, named as the mistake, with a suggestion
// among `level`'s options; "" when every argument was taken.
std::string unexpected_argument(const CLI::App& app, const CLI::App& level) {
  const std::vector<std::string> left = app.remaining(true);
  if (left.empty()) return "";
  const std::string& arg = left.front();
  if (arg.size() < 2 || arg[0] != '-') return "unexpected argument '" + arg + "'";
  const std::string name = arg.substr(0, arg.find('='));  // --name=value
  std::string what = "unknown option '" + name + "'";
  const std::string suggestion = closest(name, option_names(level));
  if (!suggestion.empty()) what += " (did you mean '" + suggestion + "'?)";
  return what;
}

}  // namespace

int report_parse_error(CLI::App& app, const CLI::ParseError& error, int argc, char** argv) {
  if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
  // A command's own exit status (vmunet sweep's 2 and 3, predict's and evaluate's 2): it has
  // said why.
  if (dynamic_cast<const CLI::RuntimeError*>(&error)) return error.get_exit_code();
  std::string what;
  std::string command = "vmunet";
  // Walk the subcommand words; the first that names no subcommand is the mistake to point at.
  CLI::App* level = &app;
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    const std::string word = argv[i];
    const auto subcommands = subcommands_of(level);
    if (subcommands.empty()) break;
    const auto found = std::find_if(subcommands.begin(), subcommands.end(),
                                    [&](CLI::App* sub) { return sub->check_name(word); });
    if (found == subcommands.end()) {
      std::vector<std::string> names;
      for (const CLI::App* sub : subcommands) names.push_back(sub->get_name());
      const std::string suggestion = closest(word, names);
      what = "unknown subcommand '" + word + "'" +
             (suggestion.empty() ? " (one of " + names_of(subcommands) + ")"
                                 : " (did you mean '" + suggestion + "'?)");
      break;
    }
    level = *found;
    command += " " + word;
  }
  // CLI11 checks required options before it looks for arguments nobody took, so `train --bogus`
  // would be told that --config is required: the stray argument is the mistake to name.
  if (what.empty()) what = unexpected_argument(app, *level);
  if (what.empty()) {
    what = error.what();
    if (!subcommands_of(level).empty() && what.find("subcommand is required") != std::string::npos)
      what = "give a subcommand: " + names_of(subcommands_of(level));
  }
  std::cerr << ("vmunet: error: " + what.substr(0, what.find('\n')) + " (see " + command +
                " --help)\n")
            << std::flush;
  return 2;
}

}  // namespace vmunet::cli
