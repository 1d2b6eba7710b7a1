#include "worker/checkpoint.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
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

// False (with a warning naming the file) when the checkpoint has no marker or does not match it.
bool checksum_matches(const std::string& path) {
  const std::string marker = path + ".sha256";
  if (!fs::exists(marker)) {
    spdlog::warn("{}: no checksum marker (write was interrupted); skipping it", path);
    return false;
  }
  if (sha256_file(path) != read_text(marker).substr(0, 64)) {
    spdlog::warn("{}: checksum mismatch (damaged file); skipping it and trying the previous one",
                 path);
    return false;
  }
  return true;
}

void read_model(torch::serialize::InputArchive& archive, torch::nn::Module& model) {
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
}

nlohmann::json read_state(torch::serialize::InputArchive& archive) {
  c10::IValue state;
  archive.read("state", state);
  return nlohmann::json::parse(state.toStringRef());
}

// Opens a checkpoint file for inference and runs `read` on it; errors name the file.
void with_checkpoint_archive(const std::string& path,
                             const std::function<void(torch::serialize::InputArchive&)>& read) {
  if (!fs::is_regular_file(path)) throw Error(path + ": checkpoint file not found");
  if (fs::exists(path + ".sha256") && !checksum_matches(path))
    throw Error(path + ": checksum mismatch (damaged file); use an earlier checkpoint of the run");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    read(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": not a vmunet checkpoint of this model (" +
                std::string(e.what_without_backtrace()).substr(0, 160) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed trainer state (" + e.what() + ")");
  }
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
    if (!checksum_matches(path)) {
      if (fs::exists(path + ".sha256")) damaged.push_back(path);
      continue;
    }
    // The marker only proves the bytes are those written; LibTorch's errors name no file.
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path);
      read_model(archive, model);
      torch::serialize::InputArchive opt_archive;
      archive.read("optimizer", opt_archive);
      optimizer.load(opt_archive);
      CheckpointInfo info;
      info.path = path;
      info.epoch = epoch;
      info.state = read_state(archive);
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

std::string newest_valid_checkpoint(const std::string& dir) {
  for (const auto& [epoch, path] : list_checkpoints(dir))
    if (checksum_matches(path)) return path;
  return "";
}

nlohmann::json read_checkpoint_state(const std::string& path) {
  nlohmann::json state;
  with_checkpoint_archive(path, [&](torch::serialize::InputArchive& a) { state = read_state(a); });
  return state;
}

void load_checkpoint_weights(const std::string& path, torch::nn::Module& model) {
  with_checkpoint_archive(path, [&](torch::serialize::InputArchive& a) { read_model(a, model); });
}

InferenceMeta inference_meta(const ModelConfig& model, const DatasetMeta& data, double threshold) {
  InferenceMeta m;
  m.model = model;
  m.task = data.task;
  m.class_names = data.class_names;
  m.input_size = data.resolution;
  m.norm = data.test_norm;
  m.threshold = threshold;
  m.dataset = data.name;
  return m;
}

nlohmann::json inference_meta_to_json(const InferenceMeta& m) {
  return {{"model", model_config_to_json(m.model)},
          {"task", task_name(m.task)},
          {"class_names", m.class_names},
          {"input_size", m.input_size},
          {"norm_mean", m.norm.mean},
          {"norm_std", m.norm.std},
          {"threshold", m.threshold},
          {"dataset", m.dataset}};
}

InferenceMeta inference_meta_from_json(const nlohmann::json& j, const std::string& where) {
  const auto get = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key))
      throw Error(where + ": inference metadata lacks '" + key + "'");
    return j.at(key);
  };
  InferenceMeta m;
  try {
    m.model = model_config_from_json(get("model"), where + ": model");
    m.task = parse_task(get("task").get<std::string>(), where + ": task");
    m.class_names = get("class_names").get<std::vector<std::string>>();
    m.input_size = get("input_size").get<int64_t>();
    m.norm = {get("norm_mean").get<double>(), get("norm_std").get<double>()};
    m.threshold = get("threshold").get<double>();
    m.dataset = get("dataset").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": malformed inference metadata (" + e.what() + ")");
  }
  if (m.input_size <= 0 || m.input_size % m.model.size_multiple() != 0)
    throw Error(where + ": input_size " + std::to_string(m.input_size) + " is not a multiple of " +
                std::to_string(m.model.size_multiple()));
  return m;
}

}  // namespace vmunet
