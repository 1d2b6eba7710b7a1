// Aligned text columns for the launcher's listings (dry run, status).
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace vmunet {

// Prints rows with every column but the last padded to its widest cell, two spaces apart.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// A JSON value as a table cell: strings bare, numbers and lists compact.
std::string cell_text(const nlohmann::json& value);

// 1.2e15 → "1.2 PFLOP"; 0 → "?".
std::string flop_text(double flops);

}  // namespace vmunet
