// The CPU scan for any processor (on x86-64: SSE2).
#define VMUNET_SCAN_ISA scan_generic
#include "model/selective_scan_cpu_kernel.h"
