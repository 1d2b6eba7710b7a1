#include "report/metric_columns.h"

#include <algorithm>
#include <map>

namespace vmunet::report {
namespace {

const std::vector<std::string> kOrder{"miou", "dsc", "acc", "spe", "sen", "hd95", "loss"};

}  // namespace

MetricColumn metric_column(const std::string& name) {
  static const std::map<std::string, std::string> percent{
      {"miou", "mIoU"}, {"dsc", "DSC"}, {"acc", "Acc"}, {"spe", "Spe"}, {"sen", "Sen"}};
  const auto slash = name.find('/');
  const std::string base = name.substr(0, slash);
  const std::string organ = slash == std::string::npos ? "" : " " + name.substr(slash + 1);
  if (auto it = percent.find(base); it != percent.end())
    return {name, it->second + organ + " (%)", 100.0, 2};
  if (base == "hd95") return {name, "HD95" + organ, 1.0, 2};
  if (base == "loss") return {name, "test loss", 1.0, 4};
  return {name, name, 1.0, 4};
}

std::vector<MetricColumn> summary_columns(const std::vector<std::string>& names) {
  std::vector<std::string> chosen;
  for (const auto& n : names)
    if (n.find('/') == std::string::npos && n != "tp" && n != "fp" && n != "fn" && n != "tn")
      chosen.push_back(n);
  auto rank = [](const std::string& n) {
    return std::find(kOrder.begin(), kOrder.end(), n) - kOrder.begin();
  };
  std::sort(chosen.begin(), chosen.end(), [&](const std::string& a, const std::string& b) {
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  std::vector<MetricColumn> out;
  for (const auto& n : chosen) out.push_back(metric_column(n));
  return out;
}

}  // namespace vmunet::report
