// The sweep coordinator under load: 8 ranks work through 2,000 stand-in runs, 10% of them failing
// on demand. Every run must be recorded exactly once, with the status the stand-in gave it, its
// one epoch row, and its metric only when done; the exit code says some runs failed.
#include <gtest/gtest.h>

#include "launcher/exit_codes.h"
#include "launcher/stand_in_executor.h"
#include "storage/results_db.h"
#include "tests/run_binary.h"
#include "tests/test_storage_helpers.h"

namespace vmunet {
namespace {

TEST(SweepStandIn, EightRanksRecordTwoThousandRunsExactlyOnce) {
  test::TempDir dir;
  const auto r = test::run_shell(test::mpirun(8, std::string(VMUNET_SWEEP_BENCH) +
                                                     " --runs 2000 --fail-fraction 0.1 --out " +
                                                     dir.path().string()));
  ASSERT_EQ(r.status, kSweepFailures) << r.output;

  ResultsDb db((dir.path() / "results.db").string(), ResultsDb::Mode::read_only);
  const auto sweep = db.find_sweep("bench-2000");
  ASSERT_TRUE(sweep);
  const auto runs = db.sweep_runs(sweep->id);
  ASSERT_EQ(runs.size(), 2000u);
  EXPECT_EQ(db.runs().size(), 2000u);
  StandInOptions failing;
  failing.fail_fraction = 0.1;
  int failed = 0;
  for (const auto& run : runs) {
    const bool fails = stand_in_fails(failing, run.run_key);
    failed += fails;
    EXPECT_EQ(run.status, fails ? RunStatus::failed : RunStatus::done) << run.run_key;
    EXPECT_EQ(run.attempt, 1) << run.run_key;
    EXPECT_EQ(run.error.empty(), !fails) << run.run_key;
    ASSERT_EQ(db.epochs(run.id).size(), 1u) << run.run_key;
    EXPECT_EQ(db.epochs(run.id)[0].epoch, 1);
    EXPECT_EQ(db.metrics(run.id).size(), fails ? 0u : 1u) << run.run_key;
  }
  EXPECT_GT(failed, 150);  // about 200 of 2000 keys hash below 0.1
  EXPECT_LT(failed, 250);
}

}  // namespace
}  // namespace vmunet
