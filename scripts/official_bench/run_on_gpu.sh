#!/usr/bin/env bash
# One command for the GPU machine: benchmark the official VM-UNet + mamba scan kernels.
#
#   scripts/official_bench/run_on_gpu.sh [LIB] [VMUNET_DIR] [official_bench.py options...]
#     LIB         default .official/build/libofficial_scan.so (build_scan_lib.sh, built elsewhere)
#     VMUNET_DIR  default .official/VM-UNet
#   Results go to $OUT/official.json when $OUT is set (the lent machine's output folder).
#   The .official/ folder is git-ignored: send it along (the device tool's carry: [".official"]).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lib="$root/.official/build/libofficial_scan.so"
vmunet="$root/.official/VM-UNet"
if [[ $# -gt 0 && "$1" != -* ]]; then lib="$1"; shift; fi
if [[ $# -gt 0 && "$1" != -* ]]; then vmunet="$1"; shift; fi

out_args=()
if [[ -n "${OUT:-}" ]]; then
  mkdir -p "$OUT"
  out_args=(--out "$OUT/official.json")
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
exec python3 "$here/official_bench.py" --lib "$lib" --vmunet "$vmunet" "${out_args[@]}" "$@"
