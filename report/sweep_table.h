// Any sweep as a table by its axes: one row per combination of the values at the spec's axis and
// zip paths (and the config name, when the spec has several bases), sorted by those values; each
// summary metric as mean ± std over the combination's done runs (its seeds), with n.
#pragma once

#include "report/run_results.h"
#include "report/table.h"

namespace vmunet::report {

Table sweep_table(const SweepResults& sweep);

// The dotted paths a sweep's runs differ by, in the spec's order.
std::vector<std::string> axis_paths(const nlohmann::ordered_json& spec);

// A config value as a table shows it: strings bare, arrays as "2,2,2,2", numbers as JSON.
std::string display_value(const nlohmann::json& value);

}  // namespace vmunet::report
