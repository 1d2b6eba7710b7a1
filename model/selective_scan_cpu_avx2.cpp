// The CPU scan for processors with AVX2 and FMA (compiled with -mavx2 -mfma: model/CMakeLists.txt).
#define VMUNET_SCAN_ISA scan_avx2
#include "model/selective_scan_cpu_kernel.h"
