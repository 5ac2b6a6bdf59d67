#!/usr/bin/env bash
# Installs the Debian packages xpusim builds and tests with. Idempotent: does nothing when
# every package is already present. Runs apt-get as root, or through sudo.
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config
  libsystemc-dev libboost-dev libeigen3-dev libyaml-cpp-dev catch2 pybind11-dev
  libonnx-dev libprotobuf-dev protobuf-compiler nlohmann-json3-dev libbenchmark-dev
  libonnx-testdata
  python3-dev python3-numpy python3-onnx python3-pandas python3-matplotlib
  python3-distributed python3-yaml python3-nbclient python3-ipykernel python3-pytest python3-tqdm
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
