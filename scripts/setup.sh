#!/usr/bin/env bash
# Installs what Slingshot needs on Debian 12: apt packages that are missing, then the npm
# packages of package.json. Idempotent and silent when there is nothing to do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  clang-14 lld-14 libclang-rt-14-dev
  emscripten binaryen
  libhwy-dev libxnnpack-dev libpthreadpool-dev libonnx-dev libprotobuf-dev protobuf-compiler doctest-dev libstb-dev nlohmann-json3-dev libcli11-dev
  libflatbuffers-dev flatbuffers-compiler
  espeak-ng libespeak-ng-dev fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf
  # gcc-arm-none-eabi ships no C++ headers; libstdc++-arm-none-eabi-newlib provides them.
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  chromium python3-torch python3-numpy
  # Sweep tests: GNU parallel runs shards; Slurm (and munge) runs the job-array example.
  parallel slurm-wlm munge
  nodejs npm
)

missing=()
for pkg in "${packages[@]}"; do
  # NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
  if [[ $pkg == npm ]] && command -v npm >/dev/null 2>&1; then continue; fi
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ $status == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if ((EUID == 0)); then
    as_root=(env)
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo env)
  else
    echo "setup: missing packages (${missing[*]}) and not root, and sudo is not installed." >&2
    echo "setup: run this script as root once." >&2
    exit 1
  fi
  echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# npm packages: reinstall only when node_modules is missing or package-lock.json changed
# since the last install (its hash is kept in node_modules/).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.slingshot-lock.sha256
if [[ ! -d node_modules || ! -f $stamp || $(cat "$stamp") != "$lock_hash" ]]; then
  echo "setup: installing npm packages (npm ci)"
  # --ignore-scripts: onnxruntime-node's install script would download CUDA binaries; the
  # CPU binaries it needs ship inside the package.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock_hash" >"$stamp"
fi
