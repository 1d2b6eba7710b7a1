#!/usr/bin/env bash
# Measures every row of the GPU issue's target table with `vmunet bench` on the GPU machine, after
# scripts/gpu_build.sh has built vmunet. Prints one line per measurement; redirect to keep it.
#   scripts/gpu_bench.sh [BUILD_DIR]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vmunet=${1:-${BUILD_DIR:-/tmp/vmunet-gpu-build}}/cli/vmunet
model=$root/configs/models/vmunet-t.json
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
date -u +%Y-%m-%dT%H:%MZ
git -C "$root" describe --always --dirty 2>/dev/null
run() { echo "== vmunet bench $*"; "$vmunet" bench --model "$model" "$@" || echo "(failed: $?)"; }
run --batch 32 --size 256 --precision fp32
run --batch 32 --size 256 --precision tf32 --train-only
run --batch 32 --size 256 --precision bf16
run --batch 8 --size 512 --precision fp32 --train-only --steps 10
run --batch 32 --size 512 --precision fp32 --train-only --steps 10 --warmup 2
run --batch 32 --size 512 --precision fp32 --train-only --steps 10 --warmup 2 --recompute
gpus=$(nvidia-smi --list-gpus | wc -l)
if [ "$gpus" -gt 1 ]; then
  echo "== data parallel on $gpus GPUs, then $gpus one-GPU runs at once"
  mpirun -np "$gpus" "$vmunet" bench --model "$model" --batch 32 --size 256 --train-only ||
    echo "(failed: $?)"
  for g in $(seq 0 $((gpus - 1))); do
    CUDA_VISIBLE_DEVICES=$g "$vmunet" bench --model "$model" --batch 32 --size 256 --train-only &
  done
  wait
fi
for precision in fp32 bf16; do
  echo "== vmunet bench --scan --precision $precision"
  "$vmunet" bench --scan --batch 32 --size 256 --precision $precision || echo "(failed: $?)"
done
# Last: what the CUDA graph of the training step (on by default) takes off, the step run eagerly.
run --batch 32 --size 256 --precision fp32 --train-only --cuda-graph off
run --batch 32 --size 256 --precision bf16 --train-only --cuda-graph off
