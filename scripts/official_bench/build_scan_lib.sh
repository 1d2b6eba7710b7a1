#!/usr/bin/env bash
# Builds libofficial_scan.so: the official mamba selective-scan kernels (fp32 and bf16 inputs,
# real weights, forward and backward) behind scan_capi.cu's C ABI, for sm_90, so that
# official_bench.py can load them with ctypes on a GPU machine that has no compiler.
#
#   scripts/official_bench/build_scan_lib.sh [MAMBA_DIR] [OUT_DIR]
#     MAMBA_DIR  checkout holding csrc/selective_scan/ (default .official/mamba)
#     OUT_DIR    where libofficial_scan.so goes      (default .official/build)
#   env: NVCC (default /usr/local/cuda/bin/nvcc), TORCH_INCLUDE (dirs holding c10/ and ATen/,
#        colon-separated; found from python3's torch, else /usr/include), ARCH (default 90)
#
# One nvcc process (the fwd and bwd templates are instantiated for every dispatch case, so it
# takes a while); the static cudart keeps the library independent of the GPU machine's toolkit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mamba="${1:-$root/.official/mamba}"
out="${2:-$root/.official/build}"
nvcc="${NVCC:-/usr/local/cuda/bin/nvcc}"
arch="${ARCH:-90}"
src="$mamba/csrc/selective_scan"

[[ -f "$src/selective_scan_fwd_kernel.cuh" && -f "$src/selective_scan_bwd_kernel.cuh" ]] ||
  { echo "build_scan_lib.sh: no official kernels under $src" >&2; exit 1; }
command -v "$nvcc" >/dev/null || { echo "build_scan_lib.sh: nvcc not found at $nvcc" >&2; exit 1; }

# c10 / ATen headers (only header-only parts are used: BFloat16, Half, complex, Atomic.cuh).
if [[ -z "${TORCH_INCLUDE:-}" ]]; then
  TORCH_INCLUDE="$(python3 -c 'import torch.utils.cpp_extension as c; print(":".join(c.include_paths()))' 2>/dev/null || true)"
fi
inc=()
if [[ -n "${TORCH_INCLUDE:-}" ]]; then
  IFS=: read -r -a dirs <<<"$TORCH_INCLUDE"
  for d in "${dirs[@]}"; do inc+=("-I$d"); done
elif [[ ! -f /usr/include/c10/util/BFloat16.h ]]; then  # Debian's libtorch-dev: already searched
  echo "build_scan_lib.sh: no c10 headers (set TORCH_INCLUDE)" >&2; exit 1
fi

mkdir -p "$out/stub/c10/cuda"
# An empty <c10/cuda/CUDAException.h>, found before torch's: scan_capi.cu defines the two macros
# the kernels take from it, so nothing links against libc10_cuda (see scan_capi.cu).
printf '#pragma once\n// stub: scan_capi.cu defines C10_CUDA_CHECK and C10_CUDA_KERNEL_LAUNCH_CHECK\n' \
  >"$out/stub/c10/cuda/CUDAException.h"
# The nvcc flags of mamba's setup.py for these kernels (its -gencode list cut to one arch).
flags=(-O3 -std=c++17
  -U__CUDA_NO_HALF_OPERATORS__ -U__CUDA_NO_HALF_CONVERSIONS__
  -U__CUDA_NO_BFLOAT16_OPERATORS__ -U__CUDA_NO_BFLOAT16_CONVERSIONS__
  -U__CUDA_NO_BFLOAT162_OPERATORS__ -U__CUDA_NO_BFLOAT162_CONVERSIONS__
  --expt-relaxed-constexpr --expt-extended-lambda --use_fast_math -lineinfo
  -gencode "arch=compute_$arch,code=sm_$arch")
set -x
"$nvcc" "${flags[@]}" -Xcompiler -fPIC -shared -cudart static \
  -I"$out/stub" -I"$src" "${inc[@]}" "$here/scan_capi.cu" -o "$out/libofficial_scan.so"
