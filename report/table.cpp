#include "report/table.h"

#include <spdlog/fmt/fmt.h>

#include <cmath>

#include "common/error.h"

namespace vmunet::report {
namespace {

constexpr const char* kDash = "—";

bool numeric(const Cell& c) {
  return c.kind == Cell::Kind::number || c.kind == Cell::Kind::measured;
}

std::string number(double value, int decimals, bool sign) {
  if (std::round(value * std::pow(10.0, decimals)) == 0) value = 0;  // no "-0.00"
  return sign ? fmt::format("{:+.{}f}", value, decimals) : fmt::format("{:.{}f}", value, decimals);
}

std::string escape_md(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string escape_latex(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (s.compare(i, 3, kDash) == 0) {
      out += "---";
      i += 2;
    } else if (std::string("&%$#_{}").find(c) != std::string::npos) {
      out += std::string("\\") + c;
    } else if (c == '~' || c == '^' || c == '\\') {
      out += c == '\\'  ? "\\textbackslash{}"
             : c == '~' ? "\\textasciitilde{}"
                        : "\\textasciicircum{}";
    } else {
      out += c;
    }
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_cell(const Cell& c) {
  switch (c.kind) {
    case Cell::Kind::missing:
      return kDash;
    case Cell::Kind::text:
      return escape_md(c.text);
    case Cell::Kind::number:
      return number(c.value, c.decimals, c.sign);
    case Cell::Kind::measured:
      return c.summary.n < 2 ? fmt::format("{:.{}f} (n=1)", c.summary.mean, c.decimals)
                             : fmt::format("{:.{}f} ± {:.{}f} (n={})", c.summary.mean, c.decimals,
                                           c.summary.std, c.decimals, c.summary.n);
  }
  return kDash;
}

std::string latex_cell(const Cell& c) {
  if (c.kind == Cell::Kind::text) return escape_latex(c.text);
  if (c.kind != Cell::Kind::measured) return escape_latex(md_cell(c));
  return c.summary.n < 2 ? fmt::format("${:.{}f}$ ($n{{=}}1$)", c.summary.mean, c.decimals)
                         : fmt::format("${:.{}f} \\pm {:.{}f}$ ($n{{=}}{}$)", c.summary.mean,
                                       c.decimals, c.summary.std, c.decimals, c.summary.n);
}

std::string render_md(const Table& t) {
  std::string out = "### " + t.title + "\n\n|";
  for (const auto& c : t.columns) out += " " + escape_md(c) + " |";
  out += "\n|";
  for (size_t i = 0; i < t.columns.size(); ++i) {
    bool right = false;
    for (const auto& row : t.rows) right = right || numeric(row[i]);
    out += right ? " ---: |" : " --- |";
  }
  out += "\n";
  for (const auto& row : t.rows) {
    out += "|";
    for (const auto& c : row) out += " " + md_cell(c) + " |";
    out += "\n";
  }
  if (!t.notes.empty()) out += "\n";
  for (const auto& note : t.notes) out += "- " + note + "\n";
  return out;
}

std::string render_csv(const Table& t) {
  std::vector<bool> spread = t.measured;
  spread.resize(t.columns.size(), false);
  std::string out = "# " + t.title + "\n";
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (i) out += ",";
    out += csv_field(t.columns[i]);
    if (spread[i])
      out += "," + csv_field(t.columns[i] + " std") + "," + csv_field(t.columns[i] + " n");
  }
  out += "\n";
  for (const auto& row : t.rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      const Cell& c = row[i];
      if (i) out += ",";
      if (c.kind == Cell::Kind::measured) {
        const int d = c.decimals + 2;  // the mean and std unrounded to the table's precision
        out += fmt::format("{:.{}f},{},{}", c.summary.mean, d,
                           c.summary.n < 2 ? kDash : fmt::format("{:.{}f}", c.summary.std, d),
                           c.summary.n);
        continue;
      }
      out += c.kind == Cell::Kind::text ? csv_field(c.text) : md_cell(c);
      if (spread[i]) out += std::string(",") + kDash + "," + kDash;
    }
    out += "\n";
  }
  for (const auto& note : t.notes) out += "# " + note + "\n";
  return out;
}

std::string render_latex(const Table& t) {
  std::string spec;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    bool right = false;
    for (const auto& row : t.rows) right = right || numeric(row[i]);
    spec += right ? "r" : "l";
  }
  std::string out = "% " + t.title + "\n\\begin{tabular}{" + spec + "}\n\\toprule\n";
  for (size_t i = 0; i < t.columns.size(); ++i)
    out += (i ? " & " : "") + escape_latex(t.columns[i]);
  out += " \\\\\n\\midrule\n";
  for (const auto& row : t.rows) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? " & " : "") + latex_cell(row[i]);
    out += " \\\\\n";
  }
  out += "\\bottomrule\n\\end{tabular}\n";
  for (const auto& note : t.notes) out += "% " + note + "\n";
  return out;
}

}  // namespace

Cell Cell::of_text(std::string text) {
  Cell c;
  c.kind = Kind::text;
  c.text = std::move(text);
  return c;
}

Cell Cell::of_number(double value, int decimals, bool sign) {
  Cell c;
  c.kind = Kind::number;
  c.value = value;
  c.decimals = decimals;
  c.sign = sign;
  return c;
}

Cell Cell::of_summary(const Summary& summary, int decimals) {
  Cell c;
  c.kind = Kind::measured;
  c.summary = summary;
  c.decimals = decimals;
  return c;
}

Format parse_format(const std::string& name) {
  if (name == "md") return Format::md;
  if (name == "csv") return Format::csv;
  if (name == "latex") return Format::latex;
  throw Error("--format " + name + ": expected md, csv or latex");
}

const char* format_extension(Format format) {
  return format == Format::md ? "md" : format == Format::csv ? "csv" : "tex";
}

std::string render(const Table& table, Format format) {
  switch (format) {
    case Format::md:
      return render_md(table);
    case Format::csv:
      return render_csv(table);
    case Format::latex:
      return render_latex(table);
  }
  return {};
}

}  // namespace vmunet::report
