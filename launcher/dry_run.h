// `vmunet sweep --dry-run`: the expansion without training, one row per run (run key, the values
// that vary, expected cost, state in the database, missing inputs), then a summary line.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "sweep/sweep_expand.h"

namespace vmunet {

// `db_path` is opened read-only when it exists; runs it does not hold show as "new".
void print_dry_run(std::ostream& out, const SweepSpec& spec, const std::vector<PlannedRun>& plan,
                   const std::string& db_path);

}  // namespace vmunet
