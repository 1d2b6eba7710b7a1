// The CPU scan's kernels per instruction set (model/selective_scan_cpu_kernel.h, compiled by
// selective_scan_cpu_generic.cpp and selective_scan_cpu_avx2.cpp). Callers use
// selective_scan_fwd_cpu / selective_scan_bwd_cpu (model/selective_scan.h), which run the best
// the processor has.
#pragma once

#include "model/selective_scan.h"

namespace vmunet {

#define VMUNET_DECLARE_SCAN_ISA(isa)                  \
  namespace isa {                                     \
  template <typename T>                               \
  void scan_fwd(const SelectiveScanParams<T>& p);     \
  template <typename T>                               \
  void scan_bwd(const SelectiveScanGradParams<T>& p); \
  }
// Portable (SSE2 on x86-64): runs anywhere.
VMUNET_DECLARE_SCAN_ISA(scan_generic)
// AVX2 with FMA (Haswell, Zen and later): twice the vector width and fused multiply-adds.
VMUNET_DECLARE_SCAN_ISA(scan_avx2)
#undef VMUNET_DECLARE_SCAN_ISA

// Whether this processor runs scan_avx2 (and this is an x86-64 build).
bool cpu_runs_scan_avx2();

// The kernels selective_scan_fwd_cpu / _bwd_cpu run: the best this processor runs (the default),
// or the one chosen, so that the tests check the portable kernels on an AVX2 processor too.
// Choosing avx2 where it does not run throws.
enum class CpuScanIsa { best, generic, avx2 };
void choose_cpu_scan_isa(CpuScanIsa isa);

}  // namespace vmunet
