#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, then runs the quickstart sweep
# (configs/sweeps/quickstart.json: 8 small VM-UNets on synthetic skin-lesion images, made on first
# use) on the CPU cores under mpirun, and prints its status, its table, the paper's Tables I-VI
# (our columns "—" until their sweeps run) and the figures it wrote. Run it again and it reports
# the finished sweep instead of training it twice (a sweep resumes what an interruption left).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh" vmunet
build=${BUILD_DIR:-$root/build}
vmunet=$build/cli/vmunet
out=${OUT_DIR:-$root/out/quickstart}
mkdir -p "$out"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# One rank more than cores: rank 0 also hosts the coordinator, which mostly waits.
ranks=${RANKS:-$(($(nproc) + 1))}

"$vmunet" --version
"$vmunet" info --model "$root/configs/models/vmunet-t.json"
cd "$out"  # the config's data path (data/quickstart-32.h5) is made here on first use
status=0
mpirun --oversubscribe -np "$ranks" "$vmunet" sweep "$root/configs/sweeps/quickstart.json" \
  --db results.db --out runs || status=$?
"$vmunet" status --db results.db --sweep quickstart
"$vmunet" report --db results.db --sweep quickstart --figures figures
"$vmunet" report --db results.db --table all
echo "results: $out/results.db; figures: $out/figures/"
exit $status
