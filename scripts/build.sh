#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then configures (first time only) and builds
# every CMake preset: native, wasm, cortex-m4 and fuzz. Parallelism: SLING_JOBS (default 2).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

for preset in native wasm cortex-m4 fuzz; do
  start=$SECONDS
  echo "== build: $preset"
  if [[ ! -f build/$preset/CMakeCache.txt || ! -f build/$preset/build.ninja ]]; then
    cmake --preset "$preset" --log-level=WARNING
  fi
  cmake --build --preset "$preset" -j "${SLING_JOBS:-2}"
  echo "== build: $preset done in $((SECONDS - start)) s"
done
