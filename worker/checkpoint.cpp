#include "worker/checkpoint.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

#include "common/error.h"
#include "common/sha256.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Error(path + ": cannot open to flush it to disk");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(path + ": fsync failed");
}

void rename_durably(const std::string& from, const std::string& to) {
  fsync_path(from, false);
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throw Error("cannot rename " + from + " to " + to);
  fsync_path(fs::path(to).parent_path().string(), true);
}

std::string checkpoint_name(int64_t epoch) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "ckpt-%05lld.pt", static_cast<long long>(epoch));
  return buf;
}

// Checkpoints in dir, newest first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  if (!fs::is_directory(dir)) return out;
  static const std::regex pattern(R"(ckpt-(\d+)\.pt)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern))
      out.emplace_back(std::stoll(m[1]), entry.path().string());
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(tmp + ": cannot create file");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(tmp + ": write failed (disk full?)");
  }
  rename_durably(tmp, path);
}

std::pair<std::string, std::string> save_checkpoint(const std::string& dir, int64_t epoch,
                                                    torch::nn::Module& model,
                                                    torch::optim::Optimizer& optimizer,
                                                    const nlohmann::json& state, int keep,
                                                    std::vector<std::string>* removed) {
  fs::create_directories(dir);
  torch::serialize::OutputArchive archive;
  for (const auto& p : model.named_parameters()) archive.write("model." + p.key(), p.value());
  for (const auto& b : model.named_buffers()) archive.write("model." + b.key(), b.value(), true);
  torch::serialize::OutputArchive opt_archive;
  optimizer.save(opt_archive);
  archive.write("optimizer", opt_archive);
  nlohmann::json meta = state;
  meta["epoch"] = epoch;
  archive.write("state", c10::IValue(meta.dump()));

  const std::string path = (fs::path(dir) / checkpoint_name(epoch)).string();
  const std::string tmp = path + ".tmp";
  archive.save_to(tmp);
  rename_durably(tmp, path);
  const std::string digest = sha256_file(path);
  write_file_atomically(path + ".sha256", digest + "\n");

  const auto all = list_checkpoints(dir);
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < all.size(); ++i) {
    fs::remove(all[i].second + ".sha256");
    fs::remove(all[i].second);
    if (removed) removed->push_back(all[i].second);
  }
  return {path, digest};
}

std::optional<CheckpointInfo> load_latest_checkpoint(const std::string& dir,
                                                     torch::nn::Module& model,
                                                     torch::optim::Optimizer& optimizer) {
  std::vector<std::string> damaged;  // newest first
  for (const auto& [epoch, path] : list_checkpoints(dir)) {
    const std::string marker = path + ".sha256";
    if (!fs::exists(marker)) {
      spdlog::warn("{}: no checksum marker (write was interrupted); skipping it", path);
      continue;
    }
    const std::string expected = read_text(marker).substr(0, 64);
    if (sha256_file(path) != expected) {
      spdlog::warn("{}: checksum mismatch (damaged file); skipping it and trying the previous one",
                   path);
      damaged.push_back(path);
      continue;
    }
    // The marker only proves the bytes are those written; LibTorch's errors name no file.
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path);
      torch::NoGradGuard no_grad;
      for (auto& p : model.named_parameters()) {
        torch::Tensor t;
        archive.read("model." + p.key(), t);
        p.value().copy_(t);
      }
      for (auto& b : model.named_buffers()) {
        torch::Tensor t;
        archive.read("model." + b.key(), t, true);
        b.value().copy_(t);
      }
      torch::serialize::InputArchive opt_archive;
      archive.read("optimizer", opt_archive);
      optimizer.load(opt_archive);
      c10::IValue state;
      archive.read("state", state);
      CheckpointInfo info;
      info.path = path;
      info.epoch = epoch;
      info.state = nlohmann::json::parse(state.toStringRef());
      return info;
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      spdlog::warn("{}: cannot be loaded ({}); trying the previous one", path,
                   what.substr(0, what.find('\n')));
    } catch (const std::exception& e) {
      spdlog::warn("{}: cannot be loaded ({}); trying the previous one", path, e.what());
    }
    damaged.push_back(path);
  }
  // Starting over would silently throw away the epochs those checkpoints hold.
  if (!damaged.empty())
    throw Error(dir + ": no intact checkpoint to resume from (" + std::to_string(damaged.size()) +
                " damaged, newest " + damaged.front() +
                "); restore them, or remove the folder to start the run over");
  return std::nullopt;
}

}  // namespace vmunet
