#include "scoring/segmentation_cases.h"

#include <filesystem>

#include "common/error.h"
#include "storage/case_volumes_h5.h"

namespace vmunet {
namespace fs = std::filesystem;
namespace {

SegmentationCases load_h5_cases(const std::string& pred_path, const std::string& label_path) {
  SegmentationCases out;
  std::vector<std::string> names = case_names(pred_path);
  if (label_path != pred_path)
    for (const std::string& name : case_names(label_path))
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const bool has_pred = has_case_volume(pred_path, name, "pred");
    const bool has_label = has_case_volume(label_path, name, "label");
    if (!has_pred || !has_label) {
      out.problems.push_back("case " + name + ": no " +
                             (has_pred ? "/label in " + label_path : "/pred in " + pred_path) +
                             " (unpaired)");
      continue;
    }
    try {
      auto p = read_case_volume(pred_path, name, "pred");
      auto l = read_case_volume(label_path, name, "label");
      if (p.depth != l.depth || p.height != l.height || p.width != l.width) {
        out.problems.push_back("case " + name + ": /pred and /label differ in shape");
        continue;
      }
      out.cases.push_back(
          {name, {p.depth, p.height, p.width}, std::move(p.values), std::move(l.values)});
    } catch (const Error& e) {
      out.problems.push_back(e.what());
    }
  }
  return out;
}

}  // namespace

SegmentationCases load_segmentation_cases(const std::string& pred, const std::string& label,
                                          bool binary_png) {
  for (const std::string& p : {pred, label})
    if (!fs::exists(p)) throw Error(p + ": no such file or folder");
  const bool folders = fs::is_directory(pred) && fs::is_directory(label);
  if (!folders && (fs::is_directory(pred) || fs::is_directory(label)))
    throw Error("--pred " + pred + " and --label " + label +
                " must both be folders of PNG masks or both be .h5 files");
  SegmentationCases out =
      folders ? load_png_cases(pred, label, binary_png) : load_h5_cases(pred, label);
  if (out.cases.empty())
    throw Error("--pred " + pred + " and --label " + label + ": no paired cases to evaluate" +
                (out.problems.empty() ? "" : " (first problem: " + out.problems[0] + ")"));
  return out;
}

}  // namespace vmunet
