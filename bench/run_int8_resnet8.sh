#!/usr/bin/env bash
# Quantized ResNet-8 at batch 1: our engines natively and in wasm (node), and the ONNX
# Runtime peers on the same model exported by `slingshot export-onnx --int8`:
# onnxruntime-node (CPU EP, one thread) and onnxruntime-web (wasm, SIMD, one thread) under
# node. Prints one JSON object with the ratios the issue tracks. Benchmarks never assert
# on time. (The in-browser comparison, our wasm beside onnxruntime-web in one Chromium
# page, is bench/web/run_int8_browser.sh.)
#
#   bench/run_int8_resnet8.sh [--no-build] [--runs N]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
native_build="${SLING_NATIVE_BUILD:-$root/build/native}"
wasm_build="${SLING_WASM_BUILD:-$root/build/wasm}"
build=1
runs=300
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --runs) runs="$2"; shift ;;
    *) echo "usage: $0 [--no-build] [--runs N]" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=/dev/null
. "$root/emsdk-config/env.sh"
if [ "$build" = 1 ]; then
  for preset in native wasm; do
    dir="$native_build"; [ "$preset" = wasm ] && dir="$wasm_build"
    [ -f "$dir/CMakeCache.txt" ] || (cd "$root" && cmake --preset "$preset" -B "$dir" >&2)
    targets=(bench_int8_resnet8)
    [ "$preset" = native ] && targets+=(slingshot)
    echo "building ${targets[*]} ($preset) ..." >&2
    cmake --build "$dir" -j2 --target "${targets[@]}" >&2
  done
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cli="$native_build/slingshot"
echo "making the model: ResNet-8 (seed 1), int8 PTQ on 256 generated 32x32 images, ONNX QDQ export ..." >&2
"$cli" init --arch resnet8 --seed 1 -o "$tmp/r8.safetensors" >&2
"$cli" quantize --model "$tmp/r8.safetensors" --data shapes --samples 256 -o "$tmp/r8q.safetensors" >&2
"$cli" export-onnx --model "$tmp/r8q.safetensors" --int8 -o "$tmp/r8q.onnx" >&2

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load average before: $(load)" >&2
echo "native engines ..." >&2
"$native_build/bench/bench_int8_resnet8" --model "$tmp/r8q.safetensors" --runs "$runs" > "$tmp/native.json"
echo "wasm engines (node) ..." >&2
node --no-experimental-fetch "$wasm_build/bench/bench_int8_resnet8.js" --model "$tmp/r8q.safetensors" \
  --runs "$runs" --engine int8-ref --engine int8-simd > "$tmp/wasm.json"
echo "onnxruntime-node and onnxruntime-web (node) ..." >&2
node "$root/bench/peer_onnxruntime.mjs" "$tmp/r8q.onnx" --runs "$runs" > "$tmp/peers.json"
echo "load average after: $(load)" >&2

node - "$tmp" "$(load)" <<'JS'
const fs = require('fs');
const [dir, load] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}`, 'utf8'));
const native = read('native.json'), wasm = read('wasm.json'), peers = read('peers.json');
const ms = (o, k) => (o[k] ? o[k].median_ms : null);
const ratio = (a, b) => (a != null && b != null ? +(a / b).toFixed(3) : null);
const ours = {
  native: Object.fromEntries(Object.entries(native.engines).map(([k, v]) => [k, v.median_ms])),
  wasm_node: Object.fromEntries(Object.entries(wasm.engines).map(([k, v]) => [k, v.median_ms])),
};
const ortNode = ms(peers.peers, 'onnxruntime-node'), ortWeb = ms(peers.peers, 'onnxruntime-web');
const out = {
  benchmark: 'int8 ResNet-8 (CIFAR 32x32x3, 10 classes), batch 1, median latency in ms',
  macs: native.macs,
  clocks: 'ours: thread CPU time natively, wall clock in wasm; peers: wall clock',
  load_average_after: load,
  ours,
  peers: { 'onnxruntime-node (CPU EP, 1 thread)': ortNode, 'onnxruntime-web (wasm SIMD, 1 thread, node)': ortWeb },
  ratios: {
    'wasm int8-simd / onnxruntime-web (goal <= 0.8)': ratio(ours.wasm_node['int8-simd'], ortWeb),
    'native int8-simd / xnnpack (goal <= 1.5)': ratio(ours.native['int8-simd'], ours.native['xnnpack']),
    'native int8-simd / onnxruntime-node (goal <= 1.5)': ratio(ours.native['int8-simd'], ortNode),
    'native int8-simd / int8-ref': ratio(ours.native['int8-simd'], ours.native['int8-ref']),
    'wasm int8-simd / native int8-simd': ratio(ours.wasm_node['int8-simd'], ours.native['int8-simd']),
  },
};
console.log(JSON.stringify(out, null, 2));
JS
