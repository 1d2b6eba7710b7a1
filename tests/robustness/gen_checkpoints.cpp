// Damaged checkpoints under `train --resume`. While an intact older checkpoint remains, the run
// must fall back to it and finish; when every checkpoint is damaged it must refuse with one line
// rather than silently start over. Checkpoints without a checksum marker are interrupted first
// writes: starting over is then right.
#include <filesystem>
#include <functional>

#include "common/sha256.h"
#include "tests/robustness/generators.h"
#include "tests/robustness/workspace.h"

namespace vmunet::robustness {
namespace fs = std::filesystem;
namespace {

using Damage = std::function<void(const std::string& checkpoint)>;

std::vector<std::string> train_args(const std::string& runs) {
  return {"train", "--config", workspace().config, "--set", "train.epochs=2",
          "--out", runs,       "--resume"};
}

// A run folder holding ckpt-00001.pt and ckpt-00002.pt, trained once by the binary.
std::string base_run() {
  static const std::string runs = [] {
    const std::string dir = case_dir("checkpoint", "base") + "/runs";
    fs::remove_all(dir);
    std::vector<std::string> args = train_args(dir);
    args.pop_back();
    Case make;
    make.args = args;
    make.legitimate = true;
    const std::string why = run_case(make);
    if (!why.empty()) throw std::runtime_error("cannot train the base run: " + why);
    return dir;
  }();
  return runs;
}

std::string checkpoint_dir(const std::string& runs) {
  for (const auto& entry : fs::directory_iterator(runs))
    if (fs::is_directory(entry.path() / "checkpoints"))
      return (entry.path() / "checkpoints").string();
  return "";
}

void remark(const std::string& checkpoint) {
  write_bytes(checkpoint + ".sha256", sha256_file(checkpoint) + "\n");
}

const std::vector<std::pair<std::string, Damage>> kDamage = {
    {"truncated",
     [](const std::string& c) {
       write_bytes(c, read_bytes(c).substr(0, read_bytes(c).size() / 2));
     }},
    {"zero-bytes", [](const std::string& c) { write_bytes(c, ""); }},
    {"flipped-byte",
     [](const std::string& c) {
       std::string b = read_bytes(c);
       b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 0x5a);
       write_bytes(c, b);
     }},
    {"marker-garbage", [](const std::string& c) { write_bytes(c + ".sha256", "not a digest\n"); }},
    // The bytes damaged but the marker rewritten to match: only the load itself can tell.
    {"zip-directory-garbage-marker-matches",
     [](const std::string& c) {
       std::string b = read_bytes(c);
       for (size_t i = b.size() - 22; i < b.size(); ++i) b[i] = '\x33';
       write_bytes(c, b);
       remark(c);
     }},
    {"text-marker-matches",
     [](const std::string& c) {
       write_bytes(c, "hello\n");
       remark(c);
     }},
    {"truncated-marker-matches",
     [](const std::string& c) {
       write_bytes(c, read_bytes(c).substr(0, 1000));
       remark(c);
     }},
};

}  // namespace

std::vector<Case> checkpoint_cases() {
  const std::string base = base_run();
  std::vector<Case> cases;
  for (const auto& [name, damage] : kDamage) {
    for (const bool all : {false, true}) {
      const std::string case_name = (all ? "all-" : "newest-") + name;
      const std::string runs = case_dir("checkpoint", case_name) + "/runs";
      fs::remove_all(runs);
      fs::copy(base, runs, fs::copy_options::recursive);
      const std::string dir = checkpoint_dir(runs);
      damage(dir + "/ckpt-00002.pt");
      if (all) damage(dir + "/ckpt-00001.pt");
      Case c;
      c.category = "checkpoint";
      c.name = case_name;
      c.args = train_args(runs);
      if (all) {
        // Refused, and the damaged files left for the user to inspect.
        c.guarded = {dir + "/ckpt-00001.pt", dir + "/ckpt-00002.pt"};
      } else {
        c.legitimate = true;
        c.guarded = {dir + "/ckpt-00001.pt"};
        c.check = [](const Outcome& o) -> std::string {
          if (o.out.find("ckpt-00001.pt (epoch 1,") == std::string::npos)
            return "did not resume from ckpt-00001.pt: " + o.out.substr(0, 300);
          if (o.out.find("done after 2 epochs") == std::string::npos) return "did not finish";
          return "";
        };
      }
      cases.push_back(std::move(c));
    }
  }
  // No marker at all: interrupted first writes, so the run starts over (legitimately).
  {
    const std::string runs = case_dir("checkpoint", "no-markers") + "/runs";
    fs::remove_all(runs);
    fs::copy(base, runs, fs::copy_options::recursive);
    const std::string dir = checkpoint_dir(runs);
    fs::remove(dir + "/ckpt-00001.pt.sha256");
    fs::remove(dir + "/ckpt-00002.pt.sha256");
    Case c;
    c.category = "checkpoint";
    c.name = "no markers: starts over (legitimate)";
    c.args = train_args(runs);
    c.legitimate = true;
    c.check = [](const Outcome& o) {
      return o.out.find("done after 2 epochs") == std::string::npos ? "did not finish"
                                                                    : std::string();
    };
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vmunet::robustness
