#!/usr/bin/env bash
# Runs the browser test of web/index.html against the wasm build, with a model file the
# CLI makes on the spot. The screenshot lands next to the native build for inspection.
set -eu
bin="$1"
out_dir="$2"
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$here/web/build/slingshot_web.wasm" ]; then
  echo "web/build/slingshot_web.wasm is missing: build the wasm preset first (scripts/build.sh)" >&2
  exit 1
fi
mkdir -p "$out_dir"
"$bin" train --arch tiny_cnn --epochs 1 --train-size 200 --test-size 20 -o "$out_dir/page_smoke_model.safetensors" > /dev/null
cd "$here"
node tests/web/page_smoke.mjs "$out_dir/page_smoke_model.safetensors" "$out_dir/page_smoke.png"
