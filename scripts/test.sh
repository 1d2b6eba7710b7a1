#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything and runs the whole suite
# (unit, golden and end-to-end tests; multi-rank tests under mpirun --oversubscribe).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install_deps.sh"
"$root/scripts/build.sh"
build=${BUILD_DIR:-$root/build}
# Two intra-op threads per test process (the multi-rank tests set one per rank).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Two at a time: most tests are a second of LibTorch start-up; the heavy and timing-sensitive
# ones are marked RUN_SERIAL (tests/CMakeLists.txt) and run alone.
ctest --test-dir "$build" --output-on-failure -j "${VMUNET_TEST_JOBS:-2}" "$@"
