#!/usr/bin/env bash
# Where a GPU step's time goes, kernel family by kernel family (issue #15), on the GPU machine after
# scripts/gpu_build.sh has built vmunet. Runs `vmunet bench` (vmunet-t, fp32, batch 32, 256²) under
# Nsight Compute, once for training and once for inference, keeps the kernels of the last (timed)
# step only, and prints per family: kernels, summed gpu__time_duration in ms, share; then the
# costliest kernels. Kernels run one at a time under ncu (caches flushed before each), so the sum
# is a little above the bench's own ms/step.
#   scripts/gpu_profile.sh [BUILD_DIR]
# Environment: BUILD_DIR (default /tmp/vmunet-gpu-build), PROFILE_DIR (keeps ncu's raw CSV output;
# default a temporary folder), MODES (default "train inference"), PRECISION (default fp32),
# BATCH (32), SIZE (256), NCU (the ncu binary; default: PATH, then /opt/nvidia/nsight-compute/*/).
# The timed step is isolated without markers: the bench runs W untimed steps and 1 timed one
# (W = 2 for training, whose first step also creates AdamW's state, 1 for inference), and the
# kernels per step are n, the largest n for which the last n kernel names repeat the n before them.
# On an H200 (1edb280) both runs took about 75 s under ncu: 1261 kernels a training step, 421 an
# inference pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vmunet=${1:-${BUILD_DIR:-/tmp/vmunet-gpu-build}}/cli/vmunet
model=$root/configs/models/vmunet-t.json
ncu=${NCU:-$(command -v ncu || ls -d /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu \
  2>/dev/null | tail -1 || true)}
[ -x "$vmunet" ] || { echo "gpu_profile: no $vmunet (run scripts/gpu_build.sh vmunet)" >&2; exit 1; }
if [ -z "$ncu" ] || [ ! -x "$ncu" ]; then echo "gpu_profile: ncu not found" >&2; exit 1; fi
dir=${PROFILE_DIR:-$(mktemp -d)}
mkdir -p "$dir"
precision=${PRECISION:-fp32} batch=${BATCH:-32} size=${SIZE:-256}

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
date -u +%Y-%m-%dT%H:%MZ
git -C "$root" describe --always --dirty 2>/dev/null || true
"$ncu" --version | tail -1

for mode in ${MODES:-train inference}; do
  if [ "$mode" = train ]; then flag=--train-only warmup=2; else flag=--inference-only warmup=1; fi
  csv=$dir/$mode.csv
  echo "== ncu: vmunet bench $flag --precision $precision --batch $batch --size $size" \
       "--warmup $warmup --steps 1"
  start=$SECONDS
  "$ncu" --clock-control none --metrics gpu__time_duration.sum --csv --print-units base \
    "$vmunet" bench --model "$model" --batch "$batch" --size "$size" --precision "$precision" \
    $flag --warmup "$warmup" --steps 1 >"$csv"
  # The bench's own line and ncu's messages, without the CSV rows and per-kernel progress lines.
  grep -v -e '^"' -e '^==PROF== Profiling' "$csv" || true
  echo "(ncu took $((SECONDS - start)) s; raw output: $csv)"
  python3 - "$csv" "$mode" "$((warmup + 1))" <<'EOF'
import csv, re, sys
from collections import defaultdict

path, mode, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(path, errors="replace").read().splitlines()
header = next(i for i, line in enumerate(lines) if line.startswith('"ID"'))
csv_lines = [line for line in lines[header:] if line.startswith('"')]
rows = [r for r in csv.DictReader(csv_lines) if r["Metric Name"] == "gpu__time_duration.sum"]
rows.sort(key=lambda r: int(r["ID"]))
to_ms = {"ns": 1e-6, "nsecond": 1e-6, "us": 1e-3, "usecond": 1e-3, "ms": 1.0, "msecond": 1.0}
kernels = [(r["Kernel Name"], float(r["Metric Value"].replace(",", "")) * to_ms[r["Metric Unit"]])
           for r in rows]

# Kernels per step: the largest n whose last n names repeat the n before them.
names = [k for k, _ in kernels]
n = next((n for n in range(len(names) // 2, 0, -1) if names[-n:] == names[-2 * n:-n]), 0)
if n < 10:
    n = len(names) // runs
    print(f"WARNING: no repeating step found; taking the last {n} of {len(names)} kernels")
step = kernels[-n:]
print(f"{mode}: {len(names)} kernels profiled, {n} per step (the last {n} repeat the {n} before)")

# First match wins; the order matters (cuDNN's implicit-GEMM convolutions before GEMM, our
# LayerNorm before LibTorch's, fill/cat/copy before the generic element-wise kernels).
FAMILIES = [
    ("selective-scan bwd", r"selective_scan\w*_bwd_kernel"),
    ("selective-scan fwd", r"selective_scan\w*_fwd_kernel"),
    ("selective-scan chain", r"selective_scan_chunk_chain_kernel"),
    ("SS2D prologue (conv + SiLU into the planes)", r"ss2d_prologue_"),
    ("SS2D epilogue (merge/scatter directions)", r"merge_directions_kernel|scatter_directions_kernel"),
    ("scan du sum (directions sharing a plane)", r"sum_shared_kernel"),
    ("LayerNorm, ours (warp per row)", r"layer_norm_(fwd|bwd|param_sum)_kernel"),
    ("LayerNorm, LibTorch's", r"layer_norm|LayerNorm|GammaBeta|RowwiseMoments|ComputeGradientFused"),
    ("depthwise conv", r"depthwise"),
    ("other conv (cuDNN)", r"cudnn|fprop|dgrad|wgrad|convolve|conv2d|im2col|col2im"),
    ("GEMM", r"gemm|gemv|cutlass|cublas|nvjet|xmma|splitK"),
    ("AdamW (fused)", r"[Ff]used_?[Aa]dam|multi_tensor_apply"),
    ("cat/stack", r"CatArray"),
    ("copies (direct_copy)", r"direct_copy|copy_kernel|transpose"),
    ("fill", r"FillFunctor|fill_kernel"),
    ("reductions/sum", r"reduce_kernel|ReduceOp|sum_functor"),
    ("add", r"CUDAFunctor_add|AddFunctor|add_kernel"),
    ("mul", r"MulFunctor|mul_kernel"),
    ("SiLU fwd/bwd", r"silu"),
    ("other element-wise", r"elementwise"),
    ("other", r""),
]
family = {}
last_scan = "selective-scan fwd"
for name, _ in step:
    if name not in family:
        family[name] = next(f for f, rx in FAMILIES if re.search(rx, name))
totals, counts = defaultdict(float), defaultdict(int)
for name, ms in step:
    f = family[name]
    if f == "selective-scan chain":  # shared by both passes: counted with the scan kernel before it
        f = last_scan
    elif f.startswith("selective-scan"):
        last_scan = f
    totals[f] += ms
    counts[f] += 1
total = sum(totals.values())
print(f"\n{mode}, one step: {n} kernels, {total:.1f} ms summed")
print(f"{'family':<42} {'kernels':>7} {'ms':>8} {'share':>6}")
for f in sorted(totals, key=totals.get, reverse=True):
    print(f"{f:<42} {counts[f]:>7} {totals[f]:>8.2f} {100 * totals[f] / total:>5.1f}%")

by_name, name_counts = defaultdict(float), defaultdict(int)
for name, ms in step:
    by_name[name] += ms
    name_counts[name] += 1
print(f"\n{mode}, costliest kernels (name cut to 110 characters)")
for name in sorted(by_name, key=by_name.get, reverse=True)[:15]:
    print(f"{by_name[name]:>8.2f} ms {name_counts[name]:>5}x  {family[name]:<24.24} {name[:110]}")
EOF
done
