// PNG figures drawn by gnuplot (pngcairo), driven from here: per run, the training loss and
// learning rate per epoch and the test metrics at each evaluation; per ablation table, our
// mean ± std beside the paper's value for every setting. The data and the gnuplot script are kept
// beside the figures (DIR/gnuplot/) so they can be restyled by hand.
#pragma once

#include <string>
#include <vector>

#include "report/run_results.h"
#include "report/table.h"

namespace vmunet::report {

// The gnuplot executable found on PATH, or "".
std::string find_gnuplot();

struct FigureSizes {
  int run_width = 900, run_height = 700;       // run-<key>.png
  int table_width = 1000, table_height = 700;  // <table id>.png
};

// Writes run-<run key>.png for each run with recorded epochs and <id>.png for each table with
// ours/paper rows (Tables III–VI); returns the paths written. Throws Error if gnuplot fails.
std::vector<std::string> write_figures(const std::string& gnuplot, const std::string& dir,
                                       ResultsDb& db, const std::vector<const RunResult*>& runs,
                                       const std::vector<Table>& ablation_tables,
                                       const FigureSizes& sizes = {});

}  // namespace vmunet::report
