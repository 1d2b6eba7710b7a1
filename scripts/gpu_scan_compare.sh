#!/usr/bin/env bash
# Why the bf16 selective scan trails the fp32 one (issue #15: the forward by 13%; the backward by
# 10% until 0a3f237 fetched its tiles at once), on the GPU machine after scripts/gpu_build.sh has
# built vmunet. Nsight Compute's launch, occupancy, throughput, scheduler, warp-state, instruction
# and memory sections and the stall reasons (cycles per issued instruction, by reason) for one
# stage-1 scan forward and one backward of a training step, in fp32 and in bf16, printed side by
# side, then the metrics that differ most between the dtypes.
#   scripts/gpu_scan_compare.sh [BUILD_DIR]
# Environment: BUILD_DIR (default /tmp/vmunet-gpu-build), PROFILE_DIR (keeps ncu's CSV output;
# default a temporary folder), NCU (the ncu binary; default: PATH, then the CUDA folders).
# The kernels are the first forward and the first backward scan of the third step of
# `vmunet bench --train-only --warmup 2 --steps 1` (15 of each a step; both first ones have the
# stage-1 shape: 32 × 768 channels × 4096 positions).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vmunet=${1:-${BUILD_DIR:-/tmp/vmunet-gpu-build}}/cli/vmunet
ncu=${NCU:-$(command -v ncu || ls -d /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu \
  2>/dev/null | tail -1 || true)}
[ -x "$vmunet" ] ||
  { echo "gpu_scan_compare: no $vmunet (run scripts/gpu_build.sh vmunet)" >&2; exit 1; }
if [ -z "$ncu" ] || [ ! -x "$ncu" ]; then echo "gpu_scan_compare: ncu not found" >&2; exit 1; fi
dir=${PROFILE_DIR:-$(mktemp -d)}
mkdir -p "$dir"
scans_per_step=15

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
git -C "$root" describe --always --dirty 2>/dev/null || true
for precision in fp32 bf16; do
  for pass in fwd bwd; do
    echo "== ncu: selective_scan_${pass}_kernel, $precision"
    "$ncu" --clock-control none --kernel-name "regex:selective_scan_${pass}_kernel" \
      --launch-skip $((2 * scans_per_step)) --launch-count 1 \
      --section LaunchStats --section Occupancy --section SpeedOfLight --section SchedulerStats \
      --section WarpStateStats --section InstructionStats --section MemoryWorkloadAnalysis \
      --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
      --csv --print-units base \
      "$vmunet" bench --model "$root/configs/models/vmunet-t.json" --batch 32 --size 256 \
      --precision "$precision" --train-only --warmup 2 --steps 1 >"$dir/$pass-$precision.csv"
  done
done

python3 - "$dir" <<'EOF'
import csv, sys

folder = sys.argv[1]
columns = [(p, d) for p in ("fwd", "bwd") for d in ("fp32", "bf16")]
values, order = {}, []
for pass_, dtype in columns:
    lines = open(f"{folder}/{pass_}-{dtype}.csv", errors="replace").read().splitlines()
    rows = [line for line in lines if line.startswith('"')]
    for r in csv.DictReader(rows):
        if not r.get("Metric Name"):
            continue
        key = (r["Section Name"], r["Metric Name"], r["Metric Unit"])
        if key not in values:
            values[key] = {}
            order.append(key)
        values[key][(pass_, dtype)] = r["Metric Value"]

def number(text):
    try:
        return float(text.replace(",", ""))
    except (AttributeError, ValueError):
        return None

print(f"\n{'section / metric (unit)':<70} " + " ".join(f"{p + ' ' + d:>14}" for p, d in columns))
for key in order:
    name = f"{key[0]} / {key[1]}" + (f" ({key[2]})" if key[2] else "")
    print(f"{name[:70]:<70} " + " ".join(f"{values[key].get(c, '-')[:14]:>14}" for c in columns))

# bf16 against fp32, per pass: the largest relative differences among numeric metrics.
print("\nlargest bf16 / fp32 differences (ratio bf16 / fp32)")
for pass_ in ("fwd", "bwd"):
    ratios = []
    for key in order:
        a, b = number(values[key].get((pass_, "fp32"))), number(values[key].get((pass_, "bf16")))
        if a and b is not None and a != 0:
            ratios.append((abs(b / a - 1), b / a, key))
    for _, ratio, key in sorted(ratios, reverse=True)[:20]:
        print(f"  {pass_} {ratio:7.3f}  {key[0]} / {key[1]}")
EOF
