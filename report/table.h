// A report table independent of its output format: header cells, rows of cells, and notes printed
// under it (the run counts by state, the conventions used).
#pragma once

#include <string>
#include <vector>

#include "report/stats.h"

namespace vmunet::report {

struct Cell {
  enum class Kind { missing, text, number, measured };
  Kind kind = Kind::missing;
  std::string text;   // Kind::text
  double value = 0;   // Kind::number
  Summary summary;    // Kind::measured
  int decimals = 2;   // number and measured
  bool sign = false;  // number: always print the sign (differences)

  static Cell missing() { return {}; }
  static Cell of_text(std::string text);
  static Cell of_number(double value, int decimals, bool sign = false);
  static Cell of_summary(const Summary& summary, int decimals);
};

struct Table {
  std::string id;     // file stem: "table4", "sweep-quickstart"
  std::string title;  // "Table IV: Dropout (drop-path rate)"
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;  // each as long as columns
  // Columns of our measurements (mean ± std, n), whether or not anything was measured yet:
  // csv gives each three columns, so a file's shape does not change as runs finish.
  std::vector<bool> measured;  // as long as columns
  std::vector<std::string> notes;
};

enum class Format { md, csv, latex };

Format parse_format(const std::string& name);  // md | csv | latex, else throws Error
const char* format_extension(Format format);

// The whole table in one format, ending with a newline.
std::string render(const Table& table, Format format);

}  // namespace vmunet::report
