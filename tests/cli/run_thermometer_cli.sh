#!/usr/bin/env bash
# The thermometer defense through the CLI: a thermometer-headed tiny CNN initialized,
# quantized and run on the integer engines (simd exact with ref), attacked with PGD whose
# report names its gradient as BPDA through the encoding's relaxation, export-c writing the
# layer for the Cortex-M runtime (its QEMU run is ctest cortexm_mcu's, on the zoo model),
# and the exporters that cannot express the layer refusing it by name on one line.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
source "$repo/tests/cli/cli_test_lib.sh"

expect_ok "init thermometer4_tiny_cnn" "$bin" init --arch thermometer4_tiny_cnn --input 16x16x3 --classes 4 -o t.safetensors
expect_ok "quantize" "$bin" quantize --model t.safetensors --data shapes --samples 64 -o t8.safetensors
expect_ok "eval int8-ref and int8-simd" "$bin" eval --model t8.safetensors --data shapes --count 32 --engine int8-ref \
  --engine int8-simd --json
/usr/bin/python3 -c "
import json
j = json.load(open('out.txt'))
assert j['engines'][1]['engine'] == 'int8-simd' and j['engines'][1]['exact_logits'] == 1.0, j['engines']
" && pass "int8-simd exact with int8-ref" || fail "eval: $(cat out.txt)"

expect_ok "attack pgd" "$bin" attack --attack pgd --model t8.safetensors --data shapes --n 8 --eps 8/255 --max-iter 3 --json a.json
grep -q "gradients bpda over ste" out.txt && pass "attack prints bpda over ste" || fail "attack line: $(cat out.txt)"
/usr/bin/python3 -c "
import json
j = json.load(open('a.json'))
assert j['gradient_source'] == 'bpda' and j['inner_gradient_source'] == 'ste', j
assert 'relaxation' in j['gradient_relaxation'] and 'thermometer' in j['gradient_relaxation'], j
" && pass "attack report names the relaxation" || fail "attack report: $(head -c 600 a.json)"

expect_error "export-tflite refuses" "(thermometer) has no TFLite operator" "$bin" export-tflite --model t8.safetensors -o t.tflite
expect_ok "export-c" "$bin" export-c --model t8.safetensors -o c_out
grep -q "{.kind = SLING_LAYER_THERMOMETER, .*\.out_c = 4, .*\.multipliers = layer0_thresholds," c_out/model_data.c &&
  grep -q "static const int32_t layer0_thresholds\[4\] = {" c_out/model_data.c &&
  pass "model_data.c holds the thermometer layer and its 4 thresholds" ||
  fail "model_data.c: $(grep -m2 -n "thermometer\|THERMOMETER" c_out/model_data.c)"
"$bin" export-onnx --model t.safetensors -o t.onnx > out.txt 2> err.txt
if grep -q "not part of this build" err.txt; then
  pass "export-onnx absent from this build (skipped)"
else
  expect_error "export-onnx refuses" "'thermometer' (thermometer)" "$bin" export-onnx --model t.safetensors -o t.onnx
fi
[ -e t.tflite ] || [ -e t.onnx ] && fail "a refused export left a file" || pass "no file left"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
