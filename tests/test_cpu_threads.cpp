// The default intra-op thread count: every CPU the process may use, shared among unbound ranks.
#include <gtest/gtest.h>

#include "worker/cpu_threads.h"

namespace vmunet {
namespace {

TEST(CpuThreads, OneProcessUsesEveryCpu) { EXPECT_EQ(default_cpu_threads(2, 2, 1), 2); }

TEST(CpuThreads, UnboundRanksShareTheHost) {
  EXPECT_EQ(default_cpu_threads(8, 8, 2), 4);
  EXPECT_EQ(default_cpu_threads(2, 2, 3), 1);  // never below one
}

TEST(CpuThreads, ABoundRankUsesItsBinding) { EXPECT_EQ(default_cpu_threads(4, 16, 4), 4); }

TEST(CpuThreads, UnknownAffinityFallsBackToTheHost) { EXPECT_EQ(default_cpu_threads(0, 6, 2), 3); }

}  // namespace
}  // namespace vmunet
