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
# Every command that reads a model takes the same flags: --model FILE.tflite --input-range
# gives the logits of the file imported with that range.
img="$repo/models/housenum/eval/housenum_test_00000.png"
expect_ok "grad of the imported float file" "$bin" grad --model r8f.safetensors --input "$img" --label 0 --json
mv out.txt grad_imported.json
expect_ok "grad --model FILE.tflite --input-range 0:255" "$bin" grad --model "$mlperf/pretrainedResnet.tflite" \
  --input-range 0:255 --input "$img" --label 0 --json
mv out.txt grad_direct.json
expect_ok "grad --model FILE.tflite, default range 0:1" "$bin" grad --model "$mlperf/pretrainedResnet.tflite" \
  --input "$img" --label 0 --json
mv out.txt grad_default.json
/usr/bin/python3 - grad_imported.json grad_direct.json grad_default.json <<'PY' &&
import json, sys
imported, direct, default = (json.load(open(p))["logits"] for p in sys.argv[1:])
assert imported == direct, (imported, direct)
assert max(abs(a - b) for a, b in zip(direct, default)) > 0.1, "--input-range changed nothing"
PY
  pass "--input-range on grad equals import-tflite --input-range" || fail "grad --input-range: $(head -c 300 grad_direct.json)"
expect_error "--input-range on a Slingshot model file" "--input-range applies to .tflite models only" \
  "$bin" attack --model r8f.safetensors --input-range 0:255 --data housenum --attack fgsm --n 2 --json a.json
expect_error "--input-range with --raw-input" "which --raw-input turns off" \
  "$bin" info "$mlperf/pretrainedResnet.tflite" --input-range 0:255 --raw-input

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
