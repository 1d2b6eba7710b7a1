#include "storage/isic_pairs.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/error.h"

namespace fs = std::filesystem;

namespace vmunet {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Image files of a folder, sorted by name so that reports and pairing are reproducible.
std::vector<fs::path> image_files(const std::string& dir, const char* role) {
  static const std::set<std::string> kExtensions{".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"};
  if (!fs::is_directory(dir)) throw Error(std::string(role) + " folder " + dir + " does not exist");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path& path = entry.path();
    if (entry.is_regular_file() && path.filename().string()[0] != '.' &&
        kExtensions.count(lower(path.extension().string())))
      files.push_back(path);
  }
  if (files.empty())
    throw Error(std::string(role) + " folder " + dir +
                " holds no image files (.jpg .jpeg .png .bmp .tif .tiff)");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Pairing pair_by_stem(const std::string& images_dir, const std::string& masks_dir,
                     const std::string& mask_suffix) {
  Pairing result;
  std::map<std::string, fs::path> images;  // lower-case stem -> file
  for (const fs::path& image : image_files(images_dir, "images")) {
    const auto [at, added] = images.emplace(lower(image.stem().string()), image);
    if (!added)
      result.problems.push_back("images " + at->second.string() + " and " + image.string() +
                                " share a stem; using the first");
  }
  const std::string suffix = lower(mask_suffix);
  std::map<std::string, fs::path> masks;  // image stem -> mask file
  for (const fs::path& mask : image_files(masks_dir, "masks")) {
    std::string stem = mask.stem().string();
    const std::string lower_stem = lower(stem);
    if (!suffix.empty() && stem.size() > suffix.size() &&
        lower_stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0)
      stem.resize(stem.size() - suffix.size());
    const std::string key = lower(stem);
    if (!images.count(key)) {
      result.problems.push_back("mask " + mask.string() + " has no image " + stem + ".* in " +
                                images_dir);
      continue;
    }
    const auto [at, added] = masks.emplace(key, mask);
    if (!added)
      result.problems.push_back("masks " + at->second.string() + " and " + mask.string() +
                                " belong to the same image; using the first");
  }
  for (const auto& [key, image] : images) {
    const auto mask = masks.find(key);
    if (mask == masks.end()) {
      result.problems.push_back("image " + image.string() + " has no mask " +
                                image.stem().string() + mask_suffix + ".* in " + masks_dir);
      continue;
    }
    result.pairs.push_back({image.stem().string(), image.string(), mask->second.string()});
  }
  return result;
}

}  // namespace vmunet
