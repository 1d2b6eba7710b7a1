// Which test evaluation a run reports (eval.select): the last one, or the one with the lowest test
// loss, as the official code does (it keeps the checkpoint with the lowest loss on its validation
// split, which is its test split). The candidate is kept in the run folder so that a resumed run
// still compares against evaluations made before it was interrupted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "worker/evaluate.h"
#include "worker/run_config.h"

namespace vmunet {

class EvalSelection {
 public:
  // file: where the min_test_loss candidate lives. On resume, a candidate from an epoch after
  // `resumed_epoch` is dropped: the resumed run redoes that evaluation.
  EvalSelection(EvalSelect rule, std::string file, bool resume, int64_t resumed_epoch);

  // Offers the evaluation after `epoch`; `write` (the run's leader) keeps a new candidate on disk.
  void offer(int64_t epoch, const EvalResult& result, bool write);

  // The evaluation to report and the epoch it followed, once at least one was offered.
  const std::optional<EvalResult>& selected() const { return result_; }
  int64_t selected_epoch() const { return epoch_; }

 private:
  EvalSelect rule_;
  std::string file_;
  std::optional<EvalResult> result_;
  int64_t epoch_ = 0;
};

}  // namespace vmunet
