// `vmunet status`: a sweep's progress from the results database, read while the sweep writes it
// (a read-only WAL connection never blocks the writer). Counts by state, then one row per run:
// the values that vary, state (and "stalled" when its group has been silent longer than the
// heartbeat timeout), epoch / total, elapsed, ETA, host and devices, last error.
#pragma once

#include <ostream>
#include <string>

namespace vmunet {

struct StatusOptions {
  std::string db_path;
  std::string sweep;  // empty: every sweep in the database
  size_t width = 0;   // cut lines to this many characters; 0: no cut
};

void print_status(std::ostream& out, const StatusOptions& options);

}  // namespace vmunet
