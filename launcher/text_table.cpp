#include "launcher/text_table.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace vmunet {

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (widths.size() <= c) widths.push_back(0);
      widths[c] = std::max(widths[c], row[c].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string cell_text(const nlohmann::json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::string flop_text(double flops) {
  if (flops <= 0) return "?";
  static const char* prefixes[] = {"", "k", "M", "G", "T", "P", "E", "Z"};
  int p = std::clamp(static_cast<int>(std::floor(std::log10(flops) / 3)), 0, 7);
  return fmt::format("{:.3g} {}FLOP", flops / std::pow(1000.0, p), prefixes[p]);
}

}  // namespace vmunet
