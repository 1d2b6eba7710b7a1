#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs the main job on the
# embedded default (CPU).
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
# The official implementation's golden case: our logits against its logits.
"$vmunet" forward --model "$root/tests/fixtures/vmunet-small.model.json" \
  --weights "$root/tests/fixtures/vmunet-small.safetensors" \
  --input "$root/tests/fixtures/vmunet-small.safetensors" --output "$out/forward.safetensors"
