// `vmunet train` through the binary, each run in a database and runs folder of its own, and what
// its one run recorded: for tests that a setting changes speed or memory but not the numbers.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/results_db.h"
#include "tests/run_binary.h"

namespace vmunet::test {

struct RecordedTrain {
  std::vector<EpochRecord> epochs;
  std::vector<MetricRecord> metrics;
};

// `vmunet train ARGS --db TAG.db --out TAG` run from `dir`; fails the test unless it succeeds.
inline RecordedTrain train_recorded(const std::filesystem::path& dir, const std::string& tag,
                                    const std::string& args) {
  RecordedTrain r;
  const auto run = run_vmunet("train " + args + " --db " + tag + ".db --out " + tag, dir.string());
  EXPECT_EQ(run.status, 0) << run.output;
  if (run.status != 0) return r;
  ResultsDb db((dir / (tag + ".db")).string(), ResultsDb::Mode::read_only);
  const auto runs = db.runs();
  EXPECT_EQ(runs.size(), 1u);
  if (runs.size() != 1) return r;
  r.epochs = db.epochs(runs[0].id);
  r.metrics = db.metrics(runs[0].id);
  return r;
}

// Every epoch's loss and every test metric the same, bit for bit.
inline void expect_same_records(const RecordedTrain& a, const RecordedTrain& b) {
  ASSERT_FALSE(a.epochs.empty());
  ASSERT_EQ(a.epochs.size(), b.epochs.size());
  for (size_t i = 0; i < a.epochs.size(); ++i)
    EXPECT_EQ(a.epochs[i].loss, b.epochs[i].loss) << "epoch " << a.epochs[i].epoch;
  ASSERT_FALSE(a.metrics.empty());
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t i = 0; i < a.metrics.size(); ++i) {
    EXPECT_EQ(a.metrics[i].name, b.metrics[i].name);
    EXPECT_EQ(a.metrics[i].value, b.metrics[i].value) << a.metrics[i].name;
  }
}

}  // namespace vmunet::test
