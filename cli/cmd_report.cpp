// `vmunet report`: Tables I–VI and any sweep's table from a results database, with figures.
#include <iostream>

#include "cli/commands.h"
#include "model/flops.h"
#include "model/vmunet.h"
#include "report/report.h"

namespace vmunet::cli {
namespace {

// Table V's own columns, from the model code (which needs LibTorch, unlike the report library).
report::ModelFacts model_facts(const std::vector<int64_t>& depths,
                               const std::vector<int64_t>& depths_decoder) {
  ModelConfig config;
  config.depths = depths;
  config.depths_decoder = depths_decoder;
  VMUNet net(config);
  return {parameter_count(*net), total_cost(model_cost(config, 256, 256)).paper_flops() / 1e9};
}

void add_report(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "report", "Print Tables I-VI beside the paper's values, or any sweep's table, and figures");
  auto o = std::make_shared<report::ReportOptions>();
  auto format = std::make_shared<std::string>("md");
  sub->add_option("--db", o->db_path, "results database (read-only; a sweep may be writing it)")
      ->required();
  sub->add_option("--sweep", o->sweeps, "a sweep's table by its axes (repeatable)");
  sub->add_option("--table", o->tables, "the paper's table 1..6, or all");
  sub->add_option("--format", *format, "md, csv or latex (booktabs tabular)")
      ->capture_default_str();
  sub->add_option("--out", o->out_dir, "write one file per table here instead of printing");
  sub->add_option("--figures", o->figures_dir, "write PNG figures here (needs gnuplot)");
  sub->callback([o, format] {
    o->format = report::parse_format(*format);
    o->model_facts = model_facts;
    report::write_report(*o, std::cout, std::cerr);
  });
}

const bool registered = register_command(add_report);

}  // namespace
}  // namespace vmunet::cli
