// Command-line mistakes: misspelt subcommands, missing or malformed options, paths that are not
// what they should be. --help and --version must keep working (exit 0).
#include <algorithm>
#include <filesystem>

#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {

std::vector<Case> cli_cases() {
  const Workspace& w = workspace();
  const std::string dir = case_dir("cli", "files");
  std::filesystem::create_directories(dir + "/a-directory");
  const std::string out = dir + "/out.h5";
  const std::vector<std::vector<std::string>> bad = {
      {},
      {"trian"},
      {"tarin"},
      {"preapre"},
      {"xyz"},
      {"train", "extra"},
      {"prepare"},
      {"prepare", "isc"},
      {"prepare", "synthetic"},
      {"--bogus"},
      {"-x"},
      {"train"},
      {"train", "--config"},
      {"train", "--config", dir + "/missing.json"},
      {"train", "--config", dir + "/a-directory"},
      {"train", "--config", "/dev/null"},
      {"train", "--config", w.config, "--bogus"},
      {"train", "--config", w.config, "--set"},
      {"train", "--config", w.config, "--db"},
      {"train", "--config", w.config, "--db", dir + "/a-directory", "--out", dir + "/runs"},
      {"train", "--config", w.config, "--db", "/dev/null/x.db", "--out", dir + "/runs"},
      {"train", "--config", w.config, "--resume=maybe"},
      {"forward"},
      {"forward", "--model", w.model},
      {"forward", "--model", dir + "/missing.json", "--weights", w.weights, "--input", w.input,
       "--output", out},
      {"forward", "--model", w.weights, "--weights", w.weights, "--input", w.input, "--output",
       out},
      {"forward", "--model", w.model, "--weights", w.model, "--input", w.input, "--output", out},
      {"forward", "--model", w.model, "--weights", w.weights, "--input", w.weights, "--output",
       out},
      {"forward", "--model", w.model, "--weights", w.weights, "--input", w.input, "--output",
       dir + "/a-directory"},
      {"forward", "--model", w.model, "--weights", w.weights, "--input", "/dev/null", "--output",
       out},
      {"prepare", "synthetic", "--out", out, "--size", "-5"},
      {"prepare", "synthetic", "--out", out, "--size", "abc"},
      {"prepare", "synthetic", "--out", out, "--size", "33"},
      {"prepare", "synthetic", "--out", out, "--gzip", "10"},
      {"prepare", "synthetic", "--out", out, "--train", "-1"},
      {"prepare", "synthetic", "--out", out, "--task", "segmentation"},
      {"prepare", "isic", "--out", out},
      {"prepare", "isic", "--images", dir + "/missing", "--masks", w.masks, "--out", out},
      {"prepare", "isic", "--images", w.images, "--masks", w.masks, "--out", out, "--split", "2"},
      {"prepare", "isic", "--images", w.images, "--masks", w.masks, "--out", out, "--size", "100"},
      {"prepare", "isic", "--images", w.images, "--masks", w.masks, "--root", dir, "--out", out},
      {"prepare", "isic", "--images", w.images, "--masks", w.masks, "--out", dir + "/a-directory"},
      {"prepare", "synapse", "--root", dir + "/missing", "--out", out},
      {"info", "--model", dir + "/missing.json"},
      {"info", "--model", w.model, "--input-size", "0", "0"},
      {"info", "--model", w.model, "--input-size", "33", "32"},
      {"info", "--model", w.model, "--input-size", "abc"},
  };
  std::vector<Case> cases;
  for (size_t i = 0; i < bad.size(); ++i) {
    Case c;
    c.category = "cli";
    c.args = bad[i];
    for (const auto& a : bad[i]) c.name += (c.name.empty() ? "" : " ") + a.substr(0, 30);
    c.name = std::to_string(i) + ": vmunet " + c.name;
    c.guarded = {w.db, w.config};
    c.absent = {out, dir + "/runs", out + ".partial"};
    // Cases run two at a time: only one that names the directory may be blamed for what a
    // concurrent one leaves there while it runs.
    if (std::find(c.args.begin(), c.args.end(), dir + "/a-directory") != c.args.end())
      c.absent.push_back(dir + "/a-directory.partial");
    cases.push_back(std::move(c));
  }
  for (const std::vector<std::string>& good : {std::vector<std::string>{"--help"},
                                               {"--version"},
                                               {"train", "--help"},
                                               {"prepare", "isic", "--help"}}) {
    Case c;
    c.category = "cli";
    c.name = "vmunet " + good.front() + (good.size() > 1 ? " " + good[1] : "");
    c.args = good;
    c.legitimate = true;
    c.check = [](const Outcome& o) {
      return o.out.empty() ? std::string("printed nothing on stdout") : std::string();
    };
    cases.push_back(std::move(c));
  }
  // The suggestion for a misspelt subcommand.
  Case typo;
  typo.category = "cli";
  typo.name = "vmunet trian suggests train";
  typo.args = {"trian"};
  typo.check = [](const Outcome& o) {
    return o.err == "vmunet: error: unknown subcommand 'trian' (did you mean 'train'?) (see "
                    "vmunet --help)\n" &&
                   o.exit_code == 2
               ? std::string()
               : "got exit " + std::to_string(o.exit_code) + ": " + o.err;
  };
  cases.push_back(std::move(typo));

  // An argument nobody takes is the mistake named, before any required option is asked for.
  const auto exactly = [](const std::vector<std::string>& args, const std::string& line) {
    Case c;
    c.category = "cli";
    for (const auto& a : args) c.name += " " + a;
    c.name = "vmunet" + c.name + " names its mistake";
    c.args = args;
    c.check = [line](const Outcome& o) {
      return o.err == "vmunet: error: " + line + "\n" && o.exit_code == 2
                 ? std::string()
                 : "got exit " + std::to_string(o.exit_code) + ": " + o.err;
    };
    return c;
  };
  for (const std::vector<std::string>& words :
       std::vector<std::vector<std::string>>{{"info"},
                                             {"prepare"},
                                             {"prepare", "isic"},
                                             {"prepare", "synapse"},
                                             {"prepare", "synthetic"},
                                             {"train"},
                                             {"forward"},
                                             {"predict"},
                                             {"evaluate"},
                                             {"sweep"},
                                             {"status"},
                                             {"report"},
                                             {"slurm"},
                                             {"bench"}}) {
    std::string command = "vmunet";
    for (const auto& word : words) command += " " + word;
    std::vector<std::string> args = words;
    args.push_back("--bogus");
    cases.push_back(exactly(args, "unknown option '--bogus' (see " + command + " --help)"));
  }
  cases.push_back(exactly({"--bogus"}, "unknown option '--bogus' (see vmunet --help)"));
  cases.push_back(exactly({"train", "--confg", w.config},
                          "unknown option '--confg' (did you mean '--config'?) (see vmunet train "
                          "--help)"));
  cases.push_back(exactly({"train", "--config", w.config, "--rseume"},
                          "unknown option '--rseume' (did you mean '--resume'?) (see vmunet train "
                          "--help)"));
  cases.push_back(
      exactly({"train", "extra"}, "unexpected argument 'extra' (see vmunet train --help)"));
  return cases;
}

}  // namespace vmunet::robustness
