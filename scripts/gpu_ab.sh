#!/usr/bin/env bash
# Variants against the checkout, measured in one device call: builds vmunet and benches the
# checkout, then for each overlay of scripts/ab_overlays.sh copies its files over the checkout,
# rebuilds, runs the test targets named in TESTS, benches, and copies the checkout's files back;
# last it benches the checkout again, so that the call's drift shows beside the differences
# (about 0.5% between runs on one machine, docs/performance.md). The rows are issue #15's at
# 256²: training and inference in fp32 and bf16, training in tf32.
#   scripts/gpu_ab.sh [OVERLAY_DIR...]      (default: every folder in .ab)
# Environment: BUILD_DIR (default /tmp/vmunet-gpu-build; reused across calls while the machine is
# warm), TESTS (test targets to build and run with each variant, e.g. "test_ss2d test_recompute"),
# BASELINE=0 (skip the checkout's two benches: a later call on a machine that measured them).
# A cold build takes about 130 s on the H200 machine and each variant about 2-3 minutes, so a
# 600 s call holds the checkout and two variants.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-/tmp/vmunet-gpu-build}
export BUILD_DIR=$build
read -r -a tests <<<"${TESTS:-}"
overlays=("$@")
if [ ${#overlays[@]} -eq 0 ]; then
  shopt -s nullglob
  overlays=("$root"/.ab/*/)
fi
[ ${#overlays[@]} -gt 0 ] || { echo "gpu_ab: no overlays (run scripts/ab_overlays.sh)" >&2; exit 2; }

bench() {
  local model=$root/configs/models/vmunet-t.json
  echo "== bench: $1"
  for args in "--precision fp32" "--precision tf32 --train-only" "--precision bf16"; do
    local out
    # shellcheck disable=SC2086  # the options are words
    out=$("$build/cli/vmunet" bench --model "$model" --batch 32 --size 256 $args 2>&1)
    grep -E '^(train|inference) ' <<<"$out" ||
      { echo "(bench $args failed:)"; tail -n 5 <<<"$out"; }
  done
}

# Builds vmunet from the checkout as it stands, quietly; on failure, the build's last lines.
build_checkout() {
  local out
  out=$("$root/scripts/gpu_build.sh" vmunet 2>&1) && return
  tail -n 40 <<<"$out"
  echo "gpu_ab: $1" >&2
  exit 1
}

nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
date -u +%Y-%m-%dT%H:%MZ
build_checkout "the checkout does not build"
baseline=${BASELINE:-1}
[ "$baseline" = 0 ] || bench "checkout"
status=0
for overlay in "${overlays[@]}"; do
  overlay=${overlay%/}
  saved=$(mktemp -d)
  mapfile -t files < <(cd "$overlay" && find . -type f | sed 's|^\./||')
  for f in "${files[@]}"; do
    [ -f "$root/$f" ] && { mkdir -p "$saved/$(dirname "$f")"; cp "$root/$f" "$saved/$f"; }
    mkdir -p "$root/$(dirname "$f")"
    cp "$overlay/$f" "$root/$f"
  done
  echo "== variant $(basename "$overlay"): ${#files[@]} files"
  if "$root/scripts/gpu_build.sh" vmunet "${tests[@]}" 2>&1 | tail -n 40; then
    bench "$(basename "$overlay")"
  else
    echo "(variant $(basename "$overlay"): build or tests failed)"
    status=1
  fi
  # Copied back, not moved: the new modification times make ninja rebuild what the variant built.
  for f in "${files[@]}"; do
    if [ -f "$saved/$f" ]; then cp "$saved/$f" "$root/$f"; else rm -f "$root/$f"; fi
  done
  rm -rf "$saved"
done
build_checkout "rebuilding the checkout failed"
[ "$baseline" = 0 ] || bench "checkout, again"
exit $status
