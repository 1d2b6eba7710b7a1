// Under mpirun, an error on one rank ends the whole job within seconds, although the other ranks
// wait for it in a collective: the failing rank prints its one line naming itself, and mpirun
// exits non-zero. Runs the binary under `mpirun --oversubscribe`, two ranks.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/remove_tree.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

TEST(MpiAbort, ErrorOnOneRankEndsTheJob) {
#ifndef VMUNET_MPIEXEC
  GTEST_SKIP() << "built without MPI";
#else
  const fs::path dir =
      fs::temp_directory_path() / ("vmunet_mpi_abort_" + std::to_string(::getpid()));
  test::remove_tree(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "tiny.json") << R"({
    "model": {"dims": [8, 16, 32, 64], "depths": [1, 1, 1, 1], "depths_decoder": [1, 1, 1, 1]},
    "data": {"path": "tiny.h5", "synthetic": {"if_missing": true, "train": 8, "test": 4}},
    "train": {"epochs": 1, "batch_size": 4, "device": "cpu"}
  })";
  // One job, two programs (mpirun's MPMD form): rank 0 makes its dataset and then waits at the
  // barrier for rank 1, whose dataset is missing, as on a node without the file. A timeout turns
  // the hang this test guards against into a failure instead of a stuck suite.
  const std::string vmunet = std::string("'") + VMUNET_BINARY + "' train --config tiny.json";
  const std::string command =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout 120 " +
      std::string(VMUNET_MPIEXEC) + " --oversubscribe -np 1 " + vmunet + " : -np 1 " + vmunet +
      " --set data.path=missing.h5 --set data.synthetic.if_missing=false";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = test::run_shell(command, dir.string());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  test::remove_tree(dir);

  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.status, 124) << "the job hung until the timeout\n" << r.output;
  EXPECT_NE(r.output.find("vmunet: error: rank 1 of 2: missing.h5: dataset file not found"),
            std::string::npos)
      << r.output;
  EXPECT_LT(seconds, 60) << r.output;
#endif
}

}  // namespace
}  // namespace vmunet
