#!/usr/bin/env bash
# The multi-GPU sweep rows of docs/performance.md: the same four real-data runs (the paper's model
# on the ISIC 2016 pairs of examples/, 256x256, batch 32, EPOCHS epochs each) swept three ways on
# one machine after scripts/gpu_build.sh:
#   1 rank,  gpus_per_run 1   one GPU, the runs one after another
#   N ranks, gpus_per_run 1   N runs at once, one per GPU
#   N ranks, gpus_per_run N   one run at a time, data-parallel over NCCL
# N is the machine's GPU count. Each sweep's images/s = training images seen / wall seconds of
# the whole `mpirun` (start-up, evaluation and checkpoints included).
#   scripts/gpu_sweep_gpus.sh BUILD_DIR H5_FILE OUT_DIR [EPOCHS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vmunet=$1/cli/vmunet
h5=$2
out=$3
epochs=${4:-10}
mkdir -p "$root/data" "$out"
[ -f "$root/data/isic2016-256.h5" ] || cp "$h5" "$root/data/isic2016-256.h5"
cd "$root"
gpus=$(nvidia-smi --list-gpus | wc -l)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
git describe --always --dirty 2>/dev/null | tee -a "$out/gpu.txt" || true
train_images=$(python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['train/images'].shape[0])" \
  data/isic2016-256.h5 2>/dev/null || echo 140)

sweep() {  # NAME RANKS GPUS_PER_RUN
  local name=$1 ranks=$2 per_run=$3
  cat >"$out/$name.json" <<EOF
{
  "name": "$name",
  "description": "Four real-data runs for the multi-GPU sweep rows (scripts/gpu_sweep_gpus.sh).",
  "base": "$root/configs/isic2016.json",
  "axes": {"model.drop_path_rate": [0.1, 0.2], "train.epochs": [$epochs],
           "train.eval_every": [$epochs], "train.checkpoint_every": [$epochs],
           "schedule.t_max": [$epochs]},
  "seeds": [1, 2],
  "gpus_per_run": $per_run
}
EOF
  local start status=0
  start=$(date +%s.%N)
  mpirun --oversubscribe -np "$ranks" "$vmunet" sweep "$out/$name.json" --db "$out/$name.db" \
    --out "/tmp/vmunet-$name" >"$out/$name.log" 2>&1 || status=$?
  python3 - "$name" "$ranks" "$per_run" "$start" "$(date +%s.%N)" "$status" "$epochs" \
    "$train_images" <<'EOF' | tee -a "$out/sweeps.txt"
import sys
name, ranks, per_run, t0, t1, status, epochs, images = sys.argv[1:]
wall = float(t1) - float(t0)
seen = 4 * int(epochs) * int(images)
print(f"{name}: {ranks} rank(s), gpus_per_run {per_run}: exit {status}, {wall:.1f} s wall, "
      f"{seen / wall:.1f} img/s over the sweep")
EOF
}

sweep one-gpu 1 1
sweep per-gpu "$gpus" 1
sweep nccl-pair "$gpus" "$gpus"
for name in one-gpu per-gpu nccl-pair; do
  "$vmunet" status --db "$out/$name.db" >"$out/$name.status.txt" 2>&1 || true
done
