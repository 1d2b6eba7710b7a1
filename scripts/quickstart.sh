#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, then trains the quickstart config
# (a small VM-UNet on synthetic skin-lesion images, CPU, a few minutes on 2 cores) and prints its
# test metrics. Run it again and it reports the finished run instead of training it twice.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh" vmunet
build=${BUILD_DIR:-$root/build}
vmunet=$build/cli/vmunet
out=${OUT_DIR:-$root/out/quickstart}
mkdir -p "$out"

"$vmunet" --version
"$vmunet" info --model "$root/configs/models/vmunet-t.json"
cd "$out"  # the config's data path (data/quickstart-32.h5) is made here on first use
"$vmunet" train --config "$root/configs/quickstart.json" --db results.db --out runs --resume
echo "results: $out/results.db (sqlite3 $out/results.db 'select name, value from metrics')"
