#!/usr/bin/env bash
# Configures, builds and tests vmunet on the GPU machine (Ubuntu 24.04, the PyTorch 2.11 wheel's
# CUDA LibTorch, nvcc 13, Hopper sm_90), with the GPU tests on.
#
#   scripts/gpu_build.sh              build everything, then run the whole suite with ctest
#   scripts/gpu_build.sh TARGET...    build only these targets, then run those named test_*
#
# Headers the machine lacks or has in unusable versions (sqlite3.h, CLI11, spdlog + fmt, OpenSSL)
# come from Debian packages carried in .deb/ at the repository root (fetch them with
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

args=(-DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}"
      -DCMAKE_CUDA_ARCHITECTURES=90
      -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
      -DCMAKE_PREFIX_PATH="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')")
cxx_flags=""
# spdlog header-only with the fmt it was written for. LibTorch's include directory carries a newer
# fmt, and the machine's spdlog CMake config a compiled spdlog for yet another fmt: skip that
# config and put the carried spdlog and fmt first on the include path (-I precedes -isystem).
if [ -d "$deps/usr/include/spdlog" ] && [ -d "$deps/usr/include/fmt" ]; then
  mkdir -p "$deps/first"
  ln -sfn "$deps/usr/include/spdlog" "$deps/first/spdlog"
  ln -sfn "$deps/usr/include/fmt" "$deps/first/fmt"
  cxx_flags+=" -I$deps/first"
  args+=(-DCMAKE_DISABLE_FIND_PACKAGE_spdlog=ON -DSPDLOG_INCLUDE_DIR="$deps/first")
fi
if [ -f "$deps/usr/include/CLI/CLI.hpp" ]; then
  args+=(-DCLI11_INCLUDE_DIR="$deps/usr/include")
fi
if [ ! -f /usr/include/sqlite3.h ]; then
  args+=(-DSQLite3_INCLUDE_DIR="$deps/usr/include" -DSQLite3_LIBRARY="$libdir/libsqlite3.so.0")
fi
if [ ! -f /usr/include/openssl/evp.h ]; then
  # Debian keeps OpenSSL's configuration headers under the multiarch include directory.
  args+=(-DOPENSSL_INCLUDE_DIR="$deps/usr/include"
         -DOPENSSL_CRYPTO_LIBRARY="$libdir/libcrypto.so.3"
         -DOPENSSL_SSL_LIBRARY="$libdir/libssl.so.3")
  cxx_flags+=" -isystem $deps/usr/include/x86_64-linux-gnu"
fi
args+=(-DCMAKE_CXX_FLAGS="$cxx_flags")

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
