// How a test metric appears in a table: its header, scale (fractions as the paper's percent) and
// decimals.
#pragma once

#include <string>
#include <vector>

namespace vmunet::report {

struct MetricColumn {
  std::string name;    // as recorded: "dsc", "hd95", "dsc/aorta", "loss"
  std::string header;  // "DSC (%)"
  double scale = 1;
  int decimals = 4;
};

MetricColumn metric_column(const std::string& name);

// The summary metrics among `names` (no per-organ values, no pixel counts), in the paper's order
// (mIoU, DSC, Acc, Spe, Sen, HD95), then the test loss and any others by name.
std::vector<MetricColumn> summary_columns(const std::vector<std::string>& names);

}  // namespace vmunet::report
