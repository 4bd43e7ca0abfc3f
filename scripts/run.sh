#!/usr/bin/env bash
# The README's run command: installs and builds everything, runs the headless demo, then
# serves the web page (web/) on 127.0.0.1 (port: SLING_PORT or 8737) until interrupted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/build.sh

cli=build/native/slingshot
echo "== demo: $cli demo"
"$cli" demo
# The deployed view of the same model: int8 post-training quantization, then every engine
# on the held-out set, with agreement measured against the TFLite-exact int8-ref engine.
"$cli" quantize --model out/demo/shapes_tiny_cnn.safetensors --data shapes -o out/demo/shapes_tiny_cnn.int8.safetensors
engines=(--engine int8-ref --engine int8-simd --engine fakequant --engine float)
if "$cli" eval --help | grep -q xnnpack && "$cli" eval --model out/demo/shapes_tiny_cnn.int8.safetensors \
     --engine xnnpack --count 1 >/dev/null 2>&1; then
  engines+=(--engine xnnpack)
fi
"$cli" eval --model out/demo/shapes_tiny_cnn.int8.safetensors --data shapes --count 2000 "${engines[@]}"

# The default zoo models on their committed evaluation sets (PNG and WAV files with a
# y_labels.csv), on every engine.
echo "== zoo: models/housenum/resnet8_int8.safetensors on models/housenum/eval"
"$cli" eval --model models/housenum/resnet8_int8.safetensors --data labels:models/housenum/eval/y_labels.csv \
  --count 200 "${engines[@]}"
echo "== zoo: models/keywords/dscnn_int8.safetensors on models/keywords/eval (WAV -> MLPerf MFCC)"
"$cli" eval --model models/keywords/dscnn_int8.safetensors --data labels:models/keywords/eval/y_labels.csv \
  --count 120 "${engines[@]}"

echo "== web: serving the page (Ctrl-C to stop)"
exec node scripts/serve.mjs --port "${SLING_PORT:-8737}"
