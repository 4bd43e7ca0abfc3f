#!/usr/bin/env bash
# Imported TFLite models end to end in the CLI: the MLPerf ResNet-8 int8 file attacked on
# a few housenum images (its input mapped onto pixels in [0, 1]), white-box through its
# float shadow (--grad ste / float) and judged on int8-ref; and the clear errors for what
# cannot be mapped. Skips (77) without ../shared/mlperf-tiny.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mlperf="$repo/../shared/mlperf-tiny"
if [ ! -f "$mlperf/pretrainedResnet_quant.tflite" ]; then
  echo "skipped: $mlperf is absent (the MLPerf Tiny .tflite files)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
source "$repo/tests/cli/cli_test_lib.sh"
resnet="$mlperf/pretrainedResnet_quant.tflite"

expect_ok "import-tflite maps the ResNet-8 input" "$bin" import-tflite "$resnet" -o r8.safetensors
grep -q "input: pixels in \[0, 1\] (8-bit grid) map to the file's values 0..255" out.txt &&
  pass "import-tflite reports the input mapping" || fail "import-tflite mapping line: $(cat out.txt)"
expect_ok "card of the imported file" "$bin" card r8.safetensors --data housenum --count 20 --json
/usr/bin/python3 - out.txt <<'PY' && pass "card records the input mapping" || fail "card mapping: $(head -c 600 out.txt)"
import json, sys
card = json.load(open(sys.argv[1]))
assert card["source"] == "tflite", card
assert card["input_mapping"]["kind"] == "pixels" and card["input_mapping"]["pixel_range"] == [0.0, 255.0], card
PY

# Eps 0: nothing may change. The report's clean predictions then label the same images,
# so every one is attacked at 8/255.
expect_ok "pgd eps 0 (--grad ste)" "$bin" attack --model "$resnet" --data housenum --attack pgd --n 8 --eps 0 \
  --grad ste --json eps0.json
/usr/bin/python3 - "$repo" <<'PY' && pass "eps 0 leaves accuracy at its clean value" || fail "eps 0: $(head -c 600 eps0.json)"
import json, shutil, sys
r = json.load(open("eps0.json"))
assert r["robust_accuracy"] == r["clean_accuracy"], r
with open("labels.csv", "w") as f:
    for rec in r["examples"]:
        name = "housenum_test_%05d.png" % rec["index"]
        shutil.copy(sys.argv[1] + "/models/housenum/eval/" + name, name)
        f.write("%s,10,%d\n" % (name, rec["clean_prediction"]))
PY
expect_ok "pgd eps 0 on the model's own labels" "$bin" attack --model "$resnet" --data labels:labels.csv --attack pgd \
  --n 8 --eps 0 --json own0.json
/usr/bin/python3 -c 'import json; r = json.load(open("own0.json")); assert r["clean_accuracy"] == 1.0 == r["robust_accuracy"], r' &&
  pass "eps 0 keeps clean accuracy 1 on the model's own labels" || fail "eps 0 own labels: $(head -c 400 own0.json)"
for grad in ste float; do
  expect_ok "pgd 8/255 --grad $grad" "$bin" attack --model "$resnet" --data labels:labels.csv --attack pgd --n 8 \
    --eps 8/255 --grad $grad --json pgd_$grad.json
  /usr/bin/python3 - pgd_$grad.json <<'PY' && pass "pgd --grad $grad lowers int8-ref accuracy" || fail "pgd --grad $grad: $(head -c 600 pgd_$grad.json)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["engine"] == "int8-ref", r["engine"]
assert r["clean_accuracy"] == 1.0 and r["robust_accuracy"] < r["clean_accuracy"], (r["clean_accuracy"], r["robust_accuracy"])
PY
done

expect_error "the autoencoder has no attack domain" "it has no attack domain" \
  "$bin" attack --model "$mlperf/ad01_int8.tflite" --data housenum --attack pgd --n 2 --json ad.json
expect_error "an int8 range that needs a fractional code shift" "has no exact integer mapping" \
  "$bin" import-tflite "$resnet" --input-range 0.5:255.5 -o bad.safetensors
expect_error "a bad input range" "must be LO:HI with LO < HI" \
  "$bin" import-tflite "$mlperf/pretrainedResnet.tflite" --input-range 255 -o bad.safetensors
expect_ok "the float ResNet-8 takes 0..255" "$bin" import-tflite "$mlperf/pretrainedResnet.tflite" --input-range 0:255 \
  -o r8f.safetensors

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
