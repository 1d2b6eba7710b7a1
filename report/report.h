// `vmunet report`: the chosen tables from a results database, in one format, to stdout or one file
// per table, and optionally the figures. The database is opened read-only (with a busy timeout),
// so a sweep may be writing it meanwhile.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "report/paper_tables.h"
#include "report/table.h"

namespace vmunet::report {

struct ReportOptions {
  std::string db_path;
  std::vector<std::string> sweeps;  // axis tables of these sweeps
  std::string tables;               // paper tables: "" none, "all" or "1".."6"
  Format format = Format::md;
  std::string out_dir;      // one file per table (<id>.<ext>); empty: all to `out`
  std::string figures_dir;  // empty: no figures
  ModelFactsFn model_facts;
};

// With neither sweeps nor tables chosen: every sweep's axis table. Tables go to `out` (or files,
// whose paths go to `out`); a missing gnuplot is one line on `err` and the tables are still
// written.
void write_report(const ReportOptions& options, std::ostream& out, std::ostream& err);

}  // namespace vmunet::report
