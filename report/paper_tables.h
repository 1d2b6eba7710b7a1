// Tables I–VI of the paper (DESIGN §7) from a results database: our measured rows (mean ± std
// over seeds, n), the paper's value beside each with the difference, the paper's other baselines
// quoted, "—" for anything not measured.
//
// Table N reads the runs of the sweep named "tableN" (configs/sweeps/tableN.json) and of any sweep
// named "tableN-<anything>". A run's dataset is read from its data.path file name (or else its
// config name): isic17/isic2017, isic18/isic2018 or synapse; its row from the table's setting:
// train.init (III: none, or VMamba-T/-S by "tiny"/"small" in the file name), model.drop_path_rate
// (IV), model.depths and model.depths_decoder (V), the input size in data.path's name
// "<dataset>-<size>.h5" (VI).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "report/run_results.h"
#include "report/table.h"

namespace vmunet::report {

const char* paper_tables_json();  // report/paper-tables.json, embedded at build time

// Exact parameter count and GFLOPs (the paper's convention, 256×256, 1 class) of the default
// model with these depths. Computed by the model code, which needs LibTorch, so the caller
// supplies it; without it Table V's own columns show "—".
struct ModelFacts {
  int64_t parameters = 0;
  double gflops = 0;
};
using ModelFactsFn = std::function<ModelFacts(const std::vector<int64_t>& depths,
                                              const std::vector<int64_t>& depths_decoder)>;

// number in 1..6.
Table paper_table(int number, const std::vector<SweepResults>& sweeps,
                  const ModelFactsFn& model_facts = nullptr);

// True for the sweeps whose runs feed Table `number`.
bool feeds_table(const std::string& sweep_name, int number);

// "isic17", "isic18", "synapse" or "" (see above).
std::string dataset_of(const nlohmann::json& config);

}  // namespace vmunet::report
