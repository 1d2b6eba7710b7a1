#include "worker/eval_select.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "worker/checkpoint.h"

namespace vmunet {

EvalSelection::EvalSelection(EvalSelect rule, std::string file, bool resume, int64_t resumed_epoch)
    : rule_(rule), file_(std::move(file)) {
  if (rule_ != EvalSelect::min_test_loss || !resume || !std::filesystem::exists(file_)) return;
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(std::ifstream(file_));
  } catch (const nlohmann::json::exception& e) {
    throw Error(file_ + ": unreadable eval.select candidate (" + e.what() +
                "); remove it to restart the selection");
  }
  if (saved.at("epoch").get<int64_t>() > resumed_epoch) return;
  epoch_ = saved.at("epoch").get<int64_t>();
  result_ =
      EvalResult{saved.at("metrics").get<std::map<std::string, double>>(),
                 saved.at("cases").get<std::map<std::string, std::map<std::string, double>>>()};
}

void EvalSelection::offer(int64_t epoch, const EvalResult& result, bool write) {
  const bool better = rule_ == EvalSelect::last || !result_ ||
                      result.metrics.at("loss") < result_->metrics.at("loss");
  if (!better) return;
  result_ = result;
  epoch_ = epoch;
  if (rule_ == EvalSelect::min_test_loss && write)
    write_file_atomically(
        file_,
        nlohmann::json{{"epoch", epoch}, {"metrics", result.metrics}, {"cases", result.cases}}
                .dump() +
            "\n");
}

}  // namespace vmunet
