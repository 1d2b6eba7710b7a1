// How LibTorch's OpenMP threads wait between parallel regions. libgomp's default lets an idle
// thread spin for a while before it sleeps. That is faster on cores of one's own (a quickstart
// training step on 2 idle cores: 312-333 ms spinning, 475 ms passive), and a disaster on shared
// ones, where spinning threads take the CPU from the threads with work (the same step on 2 loaded
// cores: 8.2 s spinning, 0.63 s passive; docs/performance.md, "CPU").
// Several ranks of one job on a host always share its cores, so they wait passively. libgomp reads
// OMP_WAIT_POLICY once, when it is loaded, before main() runs: the only way to choose for the user
// is to start the binary again with it set.
#pragma once

namespace vmunet::cli {

// When the launcher put several ranks on this host (common/launch_env.h) and OMP_WAIT_POLICY is
// unset (a user's choice stands), sets it to PASSIVE and re-executes this binary with the same
// arguments. Otherwise, or if the re-execution fails, returns and the run goes on as it is.
void ensure_openmp_wait_policy(char** argv);

}  // namespace vmunet::cli
