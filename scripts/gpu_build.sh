#!/usr/bin/env bash
# Configures, builds and tests vmunet on the GPU machine (Ubuntu 24.04, the PyTorch 2.11 wheel's
# CUDA LibTorch, nvcc 13, Hopper sm_90), with the GPU tests on.
#
#   scripts/gpu_build.sh              build everything, then run the whole suite with ctest
#   scripts/gpu_build.sh TARGET...    build only these targets, then run those named test_*
#
# Headers the machine lacks (sqlite3.h, CLI11, spdlog, fmt, OpenSSL) come from Debian packages
# carried in .deb/ at the repository root (fetch them with
# `apt-get download libsqlite3-dev libcli11-dev libspdlog-dev libfmt-dev libssl-dev`); they are
# unpacked into DEPS_PREFIX and used header-only against the machine's own runtime libraries.
# Environment: BUILD_DIR (default /tmp/vmunet-gpu-build), DEPS_PREFIX (default /tmp/vmunet-deps),
# CMAKE_BUILD_TYPE (default Release).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-/tmp/vmunet-gpu-build}
deps=${DEPS_PREFIX:-/tmp/vmunet-deps}
libdir=/usr/lib/x86_64-linux-gnu

mkdir -p "$deps"
shopt -s nullglob
debs=("$root"/.deb/*.deb)
[ ${#debs[@]} -gt 0 ] || echo "gpu_build: no .deb/*.deb carried; relying on system headers" >&2
for f in "${debs[@]}"; do dpkg -x "$f" "$deps"; done
# The Debian CMake configs of spdlog and fmt name shared libraries that are not here: remove them
# so cmake/Dependencies.cmake falls back to the header-only libraries.
rm -rf "$deps"/usr/lib/x86_64-linux-gnu/cmake/spdlog "$deps"/usr/lib/x86_64-linux-gnu/cmake/fmt

args=(-DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
      -DCMAKE_CUDA_ARCHITECTURES=90
      -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
args+=(-DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr")
if [ ! -f /usr/include/sqlite3.h ]; then
  args+=(-DSQLite3_INCLUDE_DIR="$deps/usr/include" -DSQLite3_LIBRARY="$libdir/libsqlite3.so.0")
fi
if [ ! -f /usr/include/openssl/evp.h ]; then
  # Debian keeps OpenSSL's configuration headers under the multiarch include directory.
  args+=(-DOPENSSL_INCLUDE_DIR="$deps/usr/include"
         -DOPENSSL_CRYPTO_LIBRARY="$libdir/libcrypto.so.3"
         -DOPENSSL_SSL_LIBRARY="$libdir/libssl.so.3"
         -DCMAKE_CXX_FLAGS="-isystem $deps/usr/include/x86_64-linux-gnu"
         -DCMAKE_CUDA_FLAGS="-isystem $deps/usr/include/x86_64-linux-gnu")
fi

# LibTorch's CMake ignores CMAKE_CUDA_ARCHITECTURES for its own flags.
export TORCH_CUDA_ARCH_LIST=9.0
cmake -S "$root" -B "$build" -G Ninja "${args[@]}"

if [ $# -eq 0 ]; then
  cmake --build "$build"
  ctest --test-dir "$build" --output-on-failure
else
  cmake --build "$build" --target "$@"
  status=0
  for target in "$@"; do
    exe=$(find "$build/tests" -maxdepth 1 -type f -name "$target" -perm -u+x)
    [[ $target == test_* && -n $exe ]] || continue
    echo "== $target"
    "$exe" || status=1
  done
  exit $status
fi
