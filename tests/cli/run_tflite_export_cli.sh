#!/usr/bin/env bash
# `slingshot export-tflite` end to end: a shipped int8 model exported to .tflite, the file
# evaluated through `eval --model out.tflite` (it is imported back) with the same accuracy
# as the original, a .tflite re-exported, and clear one-line errors for bad invocations.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
source "$repo/tests/cli/cli_test_lib.sh"
model="$repo/models/housenum/resnet8_int8.safetensors"

expect_ok "export-tflite ResNet-8" "$bin" export-tflite --model "$model" -o r8.tflite
grep -q "full-int8 TFLite" out.txt && grep -q "MEAN x1" out.txt && pass "export summary" || fail "export summary: $(cat out.txt)"
[ "$(dd if=r8.tflite bs=1 skip=4 count=4 2>/dev/null)" = "TFL3" ] && pass "file identifier TFL3" || fail "no TFL3 identifier"
ls r8.tflite.tmp-* > /dev/null 2>&1 && fail "temp file left behind" || pass "no temp file left"

# The exported file runs through the importer on both integer engines, with the
# original's accuracy on the same images.
expect_ok "eval original" "$bin" eval --model "$model" --data housenum --count 24 --engine int8-ref --json
mv out.txt original.json
expect_ok "eval exported .tflite" "$bin" eval --model r8.tflite --data housenum --count 24 --engine int8-ref \
  --engine int8-simd --json
/usr/bin/python3 - original.json out.txt <<'PY' && pass "same accuracy, simd exact" || fail "eval of the export: $(cat out.txt)"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["n"] == b["n"] == 24, (a["n"], b["n"])
assert a["accuracy"] == b["accuracy"], (a["accuracy"], b["accuracy"])
assert b["engines"][1]["engine"] == "int8-simd" and b["engines"][1]["exact_logits"] == 1.0, b["engines"][1]
PY

# A .tflite model is accepted too (imported, then written again).
expect_ok "re-export a .tflite" "$bin" export-tflite --model r8.tflite -o r8b.tflite --json
/usr/bin/python3 -c "
import json, sys
j = json.load(open('out.txt'))
assert j['output'] == 'r8b.tflite' and j['operators']['CONV_2D'] == 9 and j['operators']['ADD'] == 3, j
" && pass "re-export json" || fail "re-export json: $(cat out.txt)"

expect_ok "float model" "$bin" init --arch tiny_cnn --seed 1 -o float.safetensors
expect_error "float model refused" "run slingshot quantize first" "$bin" export-tflite --model float.safetensors -o f.tflite
test -e f.tflite && fail "a refused export wrote a file" || pass "a refused export writes nothing"
expect_error "4-bit activations refused" "4-bit hidden activations" \
  "$bin" export-tflite --model "$repo/models/housenum/resnet8_w4a4.safetensors" -o w4a4.tflite
expect_error "missing model" "cannot open" "$bin" export-tflite --model nothere.safetensors -o x.tflite
expect_error "unwritable output" "cannot create" "$bin" export-tflite --model "$model" -o /nonexistent-dir/x.tflite

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
