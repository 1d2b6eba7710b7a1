#!/usr/bin/env bash
# Installs, without prompts, the Debian 12 packages vmunet builds and tests against. Idempotent:
# packages already present are left alone.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config git
  libtorch-dev
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libhdf5-dev libsqlite3-dev libzip-dev libssl-dev
  libopencv-imgcodecs-dev libopencv-imgproc-dev libjpeg-dev
  libopenmpi-dev openmpi-bin
  libgtest-dev
  libopenblas0-openmp
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
