// The CPU scan's entry points: the AVX2 + FMA kernels where the processor has them, else the
// plain x86-64 ones. The choice is made once; both give the same results up to rounding (FMA
// rounds once per multiply-add), and each is deterministic whatever the thread count.
#include "model/selective_scan_cpu_isa.h"

#include <atomic>

#include "common/error.h"

namespace vmunet {
namespace {

std::atomic<CpuScanIsa> g_choice{CpuScanIsa::best};

#ifdef VMUNET_SCAN_AVX2
bool use_avx2() {
  const CpuScanIsa choice = g_choice.load();
  return choice == CpuScanIsa::avx2 || (choice == CpuScanIsa::best && cpu_runs_scan_avx2());
}
#endif

}  // namespace

bool cpu_runs_scan_avx2() {
#ifdef VMUNET_SCAN_AVX2
  static const bool runs = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return runs;
#else
  return false;  // not an x86-64 build: only the portable kernels exist
#endif
}

void choose_cpu_scan_isa(CpuScanIsa isa) {
  if (isa == CpuScanIsa::avx2 && !cpu_runs_scan_avx2())
    throw Error("the AVX2 + FMA scan kernels do not run on this processor or build");
  g_choice.store(isa);
}

template <typename T>
void selective_scan_fwd_cpu(const SelectiveScanParams<T>& p) {
#ifdef VMUNET_SCAN_AVX2
  if (use_avx2()) return scan_avx2::scan_fwd(p);
#endif
  scan_generic::scan_fwd(p);
}

template <typename T>
void selective_scan_bwd_cpu(const SelectiveScanGradParams<T>& p) {
#ifdef VMUNET_SCAN_AVX2
  if (use_avx2()) return scan_avx2::scan_bwd(p);
#endif
  scan_generic::scan_bwd(p);
}

template void selective_scan_fwd_cpu<float>(const SelectiveScanParams<float>&);
template void selective_scan_fwd_cpu<double>(const SelectiveScanParams<double>&);
template void selective_scan_bwd_cpu<float>(const SelectiveScanGradParams<float>&);
template void selective_scan_bwd_cpu<double>(const SelectiveScanGradParams<double>&);

}  // namespace vmunet
