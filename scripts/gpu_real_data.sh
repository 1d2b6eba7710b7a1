#!/usr/bin/env bash
# The real-data table committed under docs/results/: Table IV's drop-path axis on the 200 ISIC 2016
# pairs in examples/ (configs/sweeps/isic2016-droppath.json), run as one sweep on a GPU machine
# after scripts/gpu_build.sh. The GPU build has no OpenCV, so the HDF5 file is prepared elsewhere:
#   vmunet prepare isic --images examples/isic2016-224/images --masks examples/isic2016-224/masks \
#     --split 0.7 --seed 42 --name isic2016 --size 256 --out data/isic2016-256.h5
#   scripts/gpu_real_data.sh BUILD_DIR H5_FILE OUT_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
vmunet=$1/cli/vmunet
out=$3
mkdir -p "$root/data" "$out"
[ -f "$root/data/isic2016-256.h5" ] || cp "$2" "$root/data/isic2016-256.h5"
cd "$root"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
git describe --always --dirty 2>/dev/null | tee -a "$out/gpu.txt" || true
gpus=$(nvidia-smi --list-gpus | wc -l)
start=$(date +%s)
status=0
mpirun --oversubscribe -np "$gpus" "$vmunet" sweep configs/sweeps/isic2016-droppath.json \
  --db "$out/isic2016.db" --out "${RUNS_DIR:-/tmp/vmunet-isic2016-runs}" || status=$?
echo "sweep: exit $status, $(($(date +%s) - start)) s on $gpus GPU(s)" | tee -a "$out/gpu.txt"
"$vmunet" status --db "$out/isic2016.db" | tee "$out/status.txt"
"$vmunet" report --db "$out/isic2016.db" --sweep isic2016-droppath | tee "$out/report.md"
exit $status
