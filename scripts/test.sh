#!/usr/bin/env bash
# The README's test command: installs, builds every preset, then runs every test from the
# native build's ctest (native doctest, the same tests as wasm under node, the QEMU
# Cortex-M checksum, the bounded fuzz run, CLI and format checks).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh
echo "== test: ctest --preset native"
exec ctest --preset native --output-on-failure -j "${SLING_JOBS:-2}"
