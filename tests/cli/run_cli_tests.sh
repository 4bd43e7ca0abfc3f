#!/usr/bin/env bash
# End-to-end checks of the `slingshot` CLI as a user runs it: the happy paths of every
# subcommand, and a clear one-line error with exit status 1 for every bad input.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
source "$repo/tests/cli/cli_test_lib.sh"

expect_ok "version" "$bin" --version
expect_ok "init resnet8" "$bin" init --arch resnet8 --seed 3 -o r8.safetensors
expect_ok "info table" "$bin" info r8.safetensors
grep -q "MACs per inference   12501632" out.txt && pass "info reports ResNet-8 MACs" || fail "info MACs: $(cat out.txt)"
expect_ok "info json" "$bin" info r8.safetensors --json
grep -q '"trainable_params": 77946' out.txt && pass "info json params" || fail "info json params"
expect_ok "demo (short)" "$bin" demo --epochs 2 -o demo/tiny.safetensors
test -s demo/tiny.safetensors && pass "demo writes its model" || fail "demo model missing"
grep -q "float test accuracy" out.txt && pass "demo prints accuracy" || fail "demo accuracy line"

# A PNG input for grad: write one from the generated data through the CLI-free path
# (a 16x16 PNG made with printf would need zlib; use python's stdlib instead).
/usr/bin/python3 - <<'PY'
import struct, zlib
w = h = 16
raw = b"".join(b"\x00" + bytes((x * 16 + y) % 256 for x in range(w) for _ in range(3)) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("img16.png", "wb").write(png)
PY
expect_ok "grad on a PNG" "$bin" grad --model demo/tiny.safetensors --input img16.png --label 1 -o g.npy
test -s g.npy && pass "grad writes .npy" || fail "grad .npy missing"
expect_ok "grad json" "$bin" grad --model demo/tiny.safetensors --input img16.png --label 1 --json
grep -q '"grad_shape":\[1,16,16,3\]' out.txt && pass "grad json shape" || fail "grad json shape: $(head -c 300 out.txt)"

echo "garbage" > bad.png
printf 'not a model' > bad.safetensors
expect_error "missing model" "cannot open" "$bin" info nothere.safetensors
expect_error "corrupt model" "model 'bad.safetensors'" "$bin" info bad.safetensors
expect_error "undecodable image" "not a readable image" "$bin" grad --model demo/tiny.safetensors --input bad.png --label 0
expect_error "wrong image size" "but the model takes [32, 32, 3]" "$bin" grad --model r8.safetensors --input img16.png --label 0
expect_error "label out of range" "label 4 is outside [0, 4)" "$bin" grad --model demo/tiny.safetensors --input img16.png --label 4
# .npy of float64: header written by hand, as NumPy would.
/usr/bin/python3 -c "
import struct
h = \"{'descr': '<f8', 'fortran_order': False, 'shape': (32, 32, 3), }\"
h += ' ' * ((64 - (10 + len(h) + 1) % 64) % 64) + chr(10)
open('f64.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h.encode() + bytes(8 * 3072))
"
expect_error "npy of wrong dtype" "got '<f8'" "$bin" grad --model r8.safetensors --input f64.npy --label 0
expect_error "unknown architecture" "unknown architecture 'vgg'" "$bin" init --arch vgg -o x.safetensors
expect_error "bad shape argument" "must look like 32x32x3" "$bin" init --input 32x0 -o x.safetensors
expect_error "unknown dataset" "unknown dataset 'cifar'" "$bin" train --dataset cifar
expect_error "unwritable output" "cannot create" "$bin" init -o /nonexistent-dir/x.safetensors
"$bin" > /dev/null 2>&1; [ $? -ne 0 ] && pass "no subcommand fails" || fail "no subcommand should fail"

# Quantization: PTQ of the demo model, every engine on the held-out set, JSON reports.
expect_ok "quantize int8" "$bin" quantize --model demo/tiny.safetensors --data shapes --samples 256 -o q8.safetensors
grep -q "weights int8 (per channel), activations 8-bit" out.txt && pass "quantize summary" || fail "quantize summary: $(cat out.txt)"
expect_ok "info on a quantized model" "$bin" info q8.safetensors
grep -q "quantized            int8 weights" out.txt && pass "info shows quantization" || fail "info quantization"
expect_ok "eval json" "$bin" eval --model q8.safetensors --data shapes --count 300 --engine int8-ref --engine fakequant --json
"${PYTHON:-/usr/bin/python3}" - out.txt <<'PY' && pass "eval json fields" || fail "eval json fields: $(cat out.txt)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["engine"] == "int8-ref" and r["n"] == 300 and 0.0 <= r["accuracy"] <= 1.0, r
fq = r["engines"][1]
assert fq["engine"] == "fakequant" and fq["top1_agreement"] >= 0.99, fq
assert r["engines"][0]["exact_logits"] == 1.0
PY
expect_ok "quantize ternary, 4-bit activations, percentile" "$bin" quantize --model demo/tiny.safetensors --scheme ternary \
  --act-bits 4 --calibration percentile --percentile 99.9 --samples 128 --json -o qt.safetensors
grep -q '"weights":"ternary"' out.txt && pass "quantize json" || fail "quantize json: $(cat out.txt)"
expect_ok "grad through fake-quant (STE)" "$bin" grad --model q8.safetensors --input img16.png --label 1 --engine fakequant
expect_error "integer engine has no gradient" "has no gradient" "$bin" grad --model q8.safetensors --input img16.png --label 1 --engine int8-ref
expect_error "int8 engine on a float model" "needs a quantized model" "$bin" eval --model demo/tiny.safetensors --engine int8-ref
expect_error "unknown engine" "unknown engine 'gpu'" "$bin" eval --model q8.safetensors --engine gpu
expect_error "unknown scheme" "unknown weight scheme 'int3'" "$bin" quantize --model demo/tiny.safetensors --scheme int3 -o x.safetensors
expect_error "bad calibration" "--calibration must be minmax or percentile" "$bin" quantize --model demo/tiny.safetensors --calibration kl -o x.safetensors
expect_error "quantize twice" "is already quantized" "$bin" quantize --model q8.safetensors -o x.safetensors
expect_ok "init a DS-CNN (audio-shaped input)" "$bin" init --arch dscnn --input 49x10x1 -o ds.safetensors
expect_error "dataset shape mismatch" "dataset 'shapes' makes square RGB images" "$bin" quantize --model ds.safetensors -o x.safetensors
expect_ok "quantize ResNet-8" "$bin" quantize --model r8.safetensors --samples 8 -o r8q.safetensors
expect_ok "eval ResNet-8 int8-ref vs fakequant" "$bin" eval --model r8q.safetensors --count 8 --engine int8-ref --engine fakequant

# Real data formats through --data: a CIFAR-10 binary batch and an image folder, written here.
"${PYTHON:-/usr/bin/python3}" - <<'PY'
import os, struct, zlib
rec = bytearray()
for i in range(20):
    rec.append(i % 10)
    rec += bytes((i * 7 + k) % 256 for k in range(3072))
open("c10.bin", "wb").write(rec)
open("c10_bad.bin", "wb").write(rec[:-5])
def png(path, w, h, rgb):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for c, rgb in enumerate([(255, 0, 0), (0, 255, 0)]):
    os.makedirs(f"imgs/class{c}", exist_ok=True)
    for k in range(3):
        png(f"imgs/class{c}/{k}.png", 32, 32, rgb)
png("imgs/class1/odd.png", 16, 16, (0, 0, 255))
PY
expect_ok "eval on a CIFAR-10 binary batch" "$bin" eval --model r8q.safetensors --data cifar10:c10.bin --count 15 --json
grep -q '"n":15' out.txt && pass "cifar10 batch gives 15 samples" || fail "cifar10 eval: $(cat out.txt)"
expect_error "truncated CIFAR-10 batch" "truncated record" "$bin" eval --model r8q.safetensors --data cifar10:c10_bad.bin
expect_error "image folder with a wrong-size image" "images are not resized" "$bin" eval --model r8q.safetensors --data folder:imgs
rm imgs/class1/odd.png
expect_ok "eval on an image folder" "$bin" eval --model r8q.safetensors --data folder:imgs --json
grep -q '"n":6' out.txt && pass "image folder gives 6 samples" || fail "folder eval: $(cat out.txt)"
expect_error "CIFAR-10 into a 16x16 model" "CIFAR-10 images are 32x32x3" "$bin" eval --model q8.safetensors --data cifar10:c10.bin

# Recipes, checkpoints and --resume.
cat > recipe.json <<'JSON'
{"name": "cli_recipe", "arch": "tiny_cnn", "epochs": 2, "batch_size": 32, "learning_rate": 0.05,
 "data": {"name": "shapes", "train": 400, "validation": 100, "test": 100, "seed": 3, "image_size": 12},
 "optimizer": {"type": "adam"}, "augment": {"max_shift_x": 1}, "output": "out/recipe_model.safetensors"}
JSON
expect_ok "train from a recipe" "$bin" train recipe.json --json
[ -f out/recipe_model.safetensors ] && [ ! -f out/recipe_model.safetensors.ckpt ] && pass "recipe output next to the recipe, checkpoint removed" || fail "recipe output: $(ls -R out)"
grep -q '"val_accuracy"' out.txt && pass "recipe reports validation accuracy" || fail "recipe json: $(cat out.txt)"
expect_ok "model card" "$bin" card out/recipe_model.safetensors --data shapes --count 50 -o card.md
grep -q "| float | " card.md && grep -q "slingshot train models/recipes/cli_recipe.json" card.md && pass "card has accuracy and recipe" || fail "card: $(cat card.md)"
expect_ok "card of a quantized model" "$bin" card r8q.safetensors --data cifar10:c10.bin --count 20 --json
grep -q '"int8-simd"' out.txt && grep -q '"ternary"' out.txt && pass "quantized card lists engines and schemes" || fail "card json: $(cat out.txt)"
expect_error "resume without a checkpoint" "no checkpoint at out/recipe_model.safetensors.ckpt" "$bin" train recipe.json --resume
sed 's/"epochs": 2/"epochs": 0/' recipe.json > bad_recipe.json
expect_error "recipe with a bad value" "'epochs' is 0, outside [1, 10000]" "$bin" train bad_recipe.json
sed 's/"optimizer"/"optimiser"/' recipe.json > bad_recipe.json
expect_error "recipe with an unknown key" "unknown recipe key 'optimiser'" "$bin" train bad_recipe.json

# Generated evaluation sets as files, read back through their labels CSV.
expect_ok "export housenum PNGs" "$bin" export-dataset housenum --count 12 -o hn
[ "$(ls hn/*.png | wc -l)" -eq 12 ] && [ "$(wc -l < hn/y_labels.csv)" -eq 12 ] && pass "12 PNGs and 12 label lines" || fail "export: $(ls hn)"
expect_ok "eval on a labels CSV" "$bin" eval --model r8q.safetensors --data labels:hn/y_labels.csv --json
grep -q '"n":12' out.txt && pass "labels CSV gives 12 samples" || fail "labels eval: $(cat out.txt)"
expect_error "export an unknown dataset" "unknown dataset 'mnist'" "$bin" export-dataset mnist -o x
expect_error "export a bad split" "--split must be train or test, got 'validation'" "$bin" export-dataset housenum --split validation -o x
expect_error "export zero samples" "--count must be in [1, 100000]" "$bin" export-dataset housenum --count 0 -o x

# Activation QAT: the trained 4-bit grids become the quantized model's; other bits are refused.
expect_ok "train with 4-bit activation QAT" "$bin" train --dataset shapes --image-size 12 --train-size 300 --test-size 50 \
  --epochs 1 --qat int4 --qat-act-bits 4 -o aq.safetensors
expect_ok "model has activation_quant nodes" "$bin" info aq.safetensors
grep -q "activation_quant" out.txt && pass "info lists activation_quant" || fail "info: $(cat out.txt)"
expect_error "quantize at other activation bits" "trained with 4-bit activations" "$bin" quantize --model aq.safetensors --act-bits 8 -o x.safetensors
expect_ok "quantize takes the QAT bits" "$bin" quantize --model aq.safetensors --scheme int4 --json -o aq_q.safetensors
grep -q '"activation_bits":4' out.txt && pass "quantized at 4-bit activations" || fail "quantize json: $(cat out.txt)"
expect_ok "eval the activation-QAT model" "$bin" eval --model aq_q.safetensors --count 20 --engine int8-ref --engine int8-simd --json

# Attacks: judged on the deployed engine, resumable, and saved examples reproduce their predictions.
expect_ok "pgd on the int8 model" "$bin" attack --model q8.safetensors --data shapes --attack pgd --eps 8/255 --n 40 \
  --batch-size 16 --json pgd.json --save-examples adv
"${PYTHON:-/usr/bin/python3}" - <<'PY' && pass "pgd report: success, eps bound, PNGs listed with their predictions" || fail "pgd report: $(cat pgd.json | head -c 600)"
import json, os
r = json.load(open("pgd.json"))
assert r["clean_accuracy"] > 0.5 and r["robust_accuracy"] < r["clean_accuracy"] - 0.2, (r["clean_accuracy"], r["robust_accuracy"])
assert r["queries"]["gradients"] > 0 and len(r["examples"]) == 40
assert all(e["linf"] <= 8 / 255 + 1e-6 for e in r["examples"])
assert not os.path.exists("pgd.json.records.jsonl")
with open("adv/y_labels.csv", "w") as f:  # what the int8 engine answered on each saved example
    for e in r["examples"]:
        if e["attacked"]:
            f.write(f"{e['index']:06d}_label{e['label']}_adv{e['adversarial_prediction']}.png,4,{e['adversarial_prediction']}\n")
PY
expect_ok "saved examples re-evaluated" "$bin" eval --model q8.safetensors --data labels:adv/y_labels.csv --json
grep -q '"accuracy":1.0' out.txt && pass "saved PNGs give the reported int8 predictions bit for bit" || fail "saved examples: $(cat out.txt)"
# A saved adversarial PNG as a C header for the MCU: it compiles cleanly and expects the
# class the int8 engine reported for it.
adv_png=$(ls adv/*.png | head -1)
expect_ok "export-c-header of an adversarial example" "$bin" export-c-header --model q8.safetensors --input "$adv_png" \
  -o adv_example.h --name adv_example
printf '#include <stdio.h>\n#include "adv_example.h"\nint main(void) { printf("%%d %%d %%d\\n", ADV_EXAMPLE_EXPECTED_CLASS, (int)sizeof(adv_example_input), (int)sizeof(adv_example_expected_output)); return 0; }\n' > use_header.c
if cc -std=c99 -Wall -Wextra -Werror use_header.c -o use_header 2> cc_err.txt; then
  want="${adv_png##*_adv}"; want="${want%.png}"
  [ "$(./use_header)" = "$want 768 4" ] && pass "the header compiles with -Wall -Werror and expects the reported class $want" ||
    fail "header program printed '$(./use_header)', expected '$want 768 4'"
else
  fail "the header does not compile: $(cat cc_err.txt)"
fi
expect_error "export-c-header of a float model" "this one is float" "$bin" export-c-header --model demo/tiny.safetensors \
  --input "$adv_png" -o x.h
expect_error "export-c-header with a bad name" "not a C identifier" "$bin" export-c-header --model q8.safetensors \
  --input "$adv_png" -o x.h --name 9lives
# Interrupted on 1 thread, resumed on 2 (the first run used every core): results must not
# depend on the thread count either.
expect_ok "pgd, first 2 batches" "$bin" attack --model q8.safetensors --data shapes --attack pgd --eps 8/255 --n 40 \
  --batch-size 16 --json part.json --max-batches 2 --threads 1
[ -f part.json.records.jsonl ] && [ ! -f part.json ] && pass "interrupted run keeps its records" || fail "records: $(ls part*)"
expect_error "resume with other settings" "different settings" "$bin" attack --model q8.safetensors --data shapes \
  --attack pgd --eps 4/255 --n 40 --batch-size 16 --json part.json --resume
expect_ok "pgd, resumed" "$bin" attack --model q8.safetensors --data shapes --attack pgd --eps 8/255 --n 40 \
  --batch-size 16 --json part.json --resume --threads 2
"${PYTHON:-/usr/bin/python3}" -c "
import json; a = json.load(open('pgd.json')); b = json.load(open('part.json'))
assert a['examples'] == b['examples'] and a['robust_accuracy'] == b['robust_accuracy']" &&
  pass "resumed run (1 thread, then 2) equals the uninterrupted one" || fail "resume differs"
"$bin" attack --model q8.safetensors --attack pgd --threads 0 --json x.json > out.txt 2> err.txt
rc=$?
[ "$rc" -ne 0 ] && grep -qF -- "--threads: Value 0 not in range" err.txt && pass "attack with 0 threads is refused" ||
  fail "attack --threads 0: exit $rc, stderr: $(cat err.txt)"
expect_error "attack at negative eps" "eps must be a finite number >= 0" "$bin" attack --model q8.safetensors --attack pgd --eps -1 --json x.json
expect_error "attack with an unknown norm" "does not support norm 1" "$bin" attack --model q8.safetensors --attack mifgsm --norm 1 --json x.json
expect_error "unknown attack" "unknown attack 'deepfoo'" "$bin" attack --model q8.safetensors --attack deepfoo --json x.json
expect_error "bad setting" "has no setting 'momentum'" "$bin" attack --model q8.safetensors --attack mifgsm --set momentum=1 --json x.json
expect_error "ste on a float model" "has no straight-through gradient" "$bin" attack --model demo/tiny.safetensors --attack pgd --json x.json

# DIVA: on its saved successes the float master still reads the true class.
expect_ok "diva on the int8 model" "$bin" attack --model q8.safetensors --data shapes --attack diva --eps 8/255 \
  --max-iter 20 --n 40 --json diva.json --save-examples divadv
"${PYTHON:-/usr/bin/python3}" - <<'PY' && pass "diva report: float right and int8 wrong on every success" || fail "diva report: $(head -c 600 diva.json)"
import json
r = json.load(open("diva.json"))
assert r["family"] == "quantization" and r["reference"]["engine"] == "float", r.get("reference")
assert r["reference"]["queries"]["gradients"] > 0
wins = [e for e in r["examples"] if e["success"]]
assert wins and all(e["reference_adversarial_prediction"] == e["label"] != e["adversarial_prediction"] for e in wins)
with open("divadv/y_labels.csv", "w") as f:  # the true class, which the float master keeps
    for e in wins:
        f.write(f"{e['index']:06d}_label{e['label']}_adv{e['adversarial_prediction']}.png,4,{e['label']}\n")
PY
expect_ok "diva examples on the float engine" "$bin" eval --model q8.safetensors --data labels:divadv/y_labels.csv --engine float --engine int8-ref --json
"${PYTHON:-/usr/bin/python3}" -c "
import json; f, q = json.load(open('out.txt'))['engines']
assert f['accuracy'] == 1.0 and q['accuracy'] == 0.0, (f['accuracy'], q['accuracy'])" &&
  pass "saved DIVA PNGs: float right, int8 wrong, bit for bit" || fail "diva eval: $(cat out.txt)"
expect_error "diva on an ensemble" "no single master" "$bin" attack --model "$repo/models/housenum/resnet8_multibit_ensemble.json" \
  --attack diva --json x.json
expect_error "diva with float gradients" "deployed model's own gradient" "$bin" attack --model q8.safetensors --attack diva --grad float --n 4 --json x.json

# Pre-processing defenses: adaptive gradients by default (bpda through squeezing, eot over noise).
expect_ok "pgd against bit-depth squeezing" "$bin" attack --model q8.safetensors --data shapes --attack pgd --eps 8/255 \
  --n 24 --defense bit_depth:bits=4 --json bd.json
expect_ok "pgd against gaussian noise" "$bin" attack --model q8.safetensors --data shapes --attack pgd --eps 8/255 \
  --n 8 --max-iter 3 --defense gaussian_noise:sigma=0.03 --eot-samples 2 --json gn.json
"${PYTHON:-/usr/bin/python3}" - <<'PY' && pass "defense reports name the adaptive gradients" || fail "defense reports: $(head -c 600 bd.json; head -c 600 gn.json)"
import json
bd, gn = json.load(open("bd.json")), json.load(open("gn.json"))
assert bd["gradient_source"] == "bpda" and bd["inner_gradient_source"] == "ste" and "eot_samples" not in bd, bd
assert bd["defenses"] == [{"name": "bit_depth", "settings": {"bits": 4}, "spec": "bit_depth:bits=4",
                           "randomized": False, "differentiable": False}], bd["defenses"]
assert bd["engine"] == "bit_depth:bits=4 + int8-ref" and bd["robust_accuracy"] < bd["clean_accuracy"], bd["robust_accuracy"]
assert gn["gradient_source"] == "eot" and gn["inner_gradient_source"] == "ste" and gn["eot_samples"] == 2, gn
assert gn["defenses"][0]["spec"] == "gaussian_noise:sigma=0.03" and gn["defenses"][0]["randomized"]
assert gn["queries"]["gradients"] == 2 * 3 * gn["attacked"], gn["queries"]
PY
expect_error "unknown defense" "unknown defense 'jpg'; known: bit_depth" "$bin" attack --model q8.safetensors --attack pgd \
  --defense jpg --json x.json
expect_error "ste straight through a squeezer" "use bpda" "$bin" attack --model q8.safetensors --attack pgd \
  --defense bit_depth:bits=4 --grad ste --json x.json
expect_error "no eot draws" "eot_samples must be >= 1" "$bin" attack --model q8.safetensors --attack pgd \
  --defense gaussian_noise --eot-samples 0 --json x.json
# The filtering defenses: bpda through JPEG and the TV rebuild, the median's and the blur's exact
# gradient under bpda, eot over the TV rebuild's random dropout.
for spec in median_filter:size=3 jpeg:quality=50 spatial_smoothing:sigma=1 tv_minimization:iterations=50; do
  expect_ok "pgd against ${spec%%:*}" "$bin" attack --model q8.safetensors --data shapes --attack pgd --eps 8/255 \
    --n 8 --max-iter 2 --defense "$spec" --eot-samples 2 --json "${spec%%:*}.json"
done
expect_ok "defenses json" "$bin" defenses --json
"${PYTHON:-/usr/bin/python3}" - <<'PY' && pass "filtering defenses: adaptive gradients and listing" || fail "filtering defenses: $(head -c 600 tv_minimization.json)"
import json
names = [d["name"] for d in json.load(open("out.txt"))]
assert names == ["bit_depth", "median_filter", "jpeg", "spatial_smoothing", "gaussian_noise", "randomized_smoothing",
                 "tv_minimization"], names
want = {"median_filter": ("bpda", False, True), "jpeg": ("bpda", False, False),
        "spatial_smoothing": ("bpda", False, True), "tv_minimization": ("eot", True, False)}
for name, (source, randomized, differentiable) in want.items():
    r = json.load(open(name + ".json"))
    d = r["defenses"][0]
    assert r["gradient_source"] == source and d["name"] == name, (name, r["gradient_source"], d)
    assert d["randomized"] == randomized and d["differentiable"] == differentiable, (name, d)
    assert r["robust_accuracy"] <= r["clean_accuracy"], (name, r["robust_accuracy"], r["clean_accuracy"])
assert json.load(open("tv_minimization.json"))["eot_samples"] == 2
assert json.load(open("jpeg.json"))["defenses"][0]["spec"] == "jpeg:quality=50"
PY
expect_error "jpeg on a waveform" "jpeg compresses non-empty images" "$bin" attack \
  --model "$repo/models/keywords/dscnn_int8.safetensors" --attack pgd --defense jpeg --json x.json
# The bit-flip attack on the weights: a flipped model that loads, validates and evaluates to the reported accuracy.
expect_ok "bitflip on the int8 model" "$bin" attack --model q8.safetensors --data shapes --attack bitflip --n 60 \
  --max-iter 3 --set stop_accuracy=0 --set attack_samples=64 --seed 4 --json bfa.json --save-model flipped.safetensors
"${PYTHON:-/usr/bin/python3}" - <<'PY' && pass "bitflip report: 3 flips, curve, examples" || fail "bitflip report: $(head -c 600 bfa.json)"
import json
r = json.load(open("bfa.json"))
assert r["attack"] == "bitflip" and r["engine"] == "int8-ref" and r["seed"] == 4 and r["flips"] == 3, r
assert len(r["flip_list"]) == 3 and [c["flips"] for c in r["curve"]] == [0, 1, 2, 3]
assert r["curve"][0]["accuracy"] == r["clean_accuracy"] and r["curve"][-1]["accuracy"] == r["robust_accuracy"]
assert r["robust_accuracy"] < r["clean_accuracy"], (r["clean_accuracy"], r["robust_accuracy"])
assert all(f["new_code"] != -128 and -127 <= f["new_code"] <= 127 for f in r["flip_list"])
assert len(r["examples"]) == 60 and 0 < r["success_rate"] <= 1
right = [e for e in r["examples"] if e["clean_prediction"] == e["label"]]
assert abs(r["success_rate"] - sum(e["flipped_prediction"] != e["label"] for e in right) / len(right)) < 1e-12
assert r["saved_model"] == "flipped.safetensors" and r["seconds"] >= 0 and r["params"]["max_iter"] == 3
open("bfa_accuracy.txt", "w").write(repr(r["robust_accuracy"]))
PY
expect_ok "flipped model evaluates" "$bin" eval --model flipped.safetensors --data shapes --count 60 --engine int8-ref --json
"${PYTHON:-/usr/bin/python3}" -c "
import json; r = json.load(open('out.txt')); want = float(open('bfa_accuracy.txt').read())
assert r['engines'][0]['accuracy'] == want, (r['engines'][0]['accuracy'], want)" &&
  pass "the saved flipped model reproduces the reported accuracy" || fail "flipped eval: $(head -c 300 out.txt)"
expect_error "bitflip without a budget" "flip budget (--max-iter) of at least 1" "$bin" attack --model q8.safetensors --attack bitflip --max-iter 0 --json x.json
expect_error "bitflip with an unknown setting" "attack 'bitflip' has no setting 'flips'" "$bin" attack --model q8.safetensors --attack bitflip --set flips=3 --json x.json
expect_error "bitflip on a ternary model" "this model's weights are ternary" "$bin" attack --model "$repo/models/housenum/resnet8_ternary.safetensors" --data housenum --attack bitflip --json x.json
expect_error "save-model without bitflip" "--save-model keeps the flipped model of --attack bitflip only" "$bin" attack --model q8.safetensors --attack pgd --save-model x.safetensors --json x.json

# Waveform attacks on the keyword model: saved WAVs reproduce the reported int8 predictions.
expect_ok "fgsm on keyword waveforms" "$bin" attack --model "$repo/models/keywords/dscnn_int8.safetensors" \
  --data "labels:$repo/models/keywords/eval/y_labels.csv" --attack fgsm --eps 0.003 --n 12 --json kw.json --save-examples kwadv
"${PYTHON:-/usr/bin/python3}" - <<'PY' && pass "keyword attack report and WAV labels" || fail "keyword report: $(head -c 400 kw.json)"
import json
r = json.load(open("kw.json"))
assert r["engine"] == "mfcc + int8-ref" and r["robust_accuracy"] < r["clean_accuracy"], r["robust_accuracy"]
assert all(e["linf"] <= 0.003 + 1e-7 for e in r["examples"])
with open("kwadv/y_labels.csv", "w") as f:
    for e in r["examples"]:
        if e["attacked"]:
            f.write(f"{e['index']:06d}_label{e['label']}_adv{e['adversarial_prediction']}.wav,12,{e['adversarial_prediction']}\n")
PY
expect_ok "saved WAVs re-evaluated" "$bin" eval --model "$repo/models/keywords/dscnn_int8.safetensors" --data labels:kwadv/y_labels.csv --json
grep -q '"accuracy":1.0' out.txt && pass "saved WAVs give the reported int8 predictions bit for bit" || fail "saved WAVs: $(cat out.txt)"
# Bernhard et al.'s multi-bitwidth ensemble from the zoo.
expect_ok "pgd on the multi-bitwidth ensemble" "$bin" attack --model "$repo/models/housenum/resnet8_multibit_ensemble.json" \
  --data "labels:$repo/models/housenum/eval/y_labels.csv" --attack pgd --eps 2/255 --n 8 --engine int8-simd --json ens.json
grep -q '"engine": "mean_probability ensemble of int8-simd int8-simd int8-simd int8-simd"' ens.json &&
  pass "ensemble report names its members' engines" || fail "ensemble: $(head -c 300 ens.json)"

# The shipped zoo models on their committed evaluation sets: they load, the integer
# engines agree exactly, and accuracy stays where the model cards put it.
zoo_accuracy() {  # MODEL CSV COUNT MIN_ACCURACY
  "$bin" eval --model "$repo/$1" --data "labels:$repo/$2" --count "$3" --engine int8-ref --engine int8-simd --json > out.txt 2> err.txt &&
    "${PYTHON:-/usr/bin/python3}" - "$4" <<'PY'
import json, sys
r = json.load(open("out.txt"))
ref, simd = r["engines"]
ok = ref["accuracy"] >= float(sys.argv[1]) and simd["exact_logits"] == 1.0
print(f"accuracy {ref['accuracy']:.3f}, int8-simd exact logits {simd['exact_logits']}")
sys.exit(0 if ok else 1)
PY
}
zoo_accuracy models/housenum/resnet8_int8.safetensors models/housenum/eval/y_labels.csv 200 0.93 &&
  pass "zoo housenum ResNet-8 int8 on its 200 PNGs" || fail "zoo housenum: $(cat out.txt err.txt)"
zoo_accuracy models/housenum/resnet8_w4a4.safetensors models/housenum/eval/y_labels.csv 200 0.91 &&
  pass "zoo housenum ResNet-8 w4a4 (4-bit activations) on its 200 PNGs" || fail "zoo w4a4: $(cat out.txt err.txt)"
zoo_accuracy models/keywords/dscnn_int8.safetensors models/keywords/eval/y_labels.csv 120 0.9 &&
  pass "zoo keywords DS-CNN int8 on its 120 WAVs" || fail "zoo keywords: $(cat out.txt err.txt)"

# Keyword models on Speech Commands-style WAV class folders: the 120 evaluation clips
# sorted into folders named by class (labels by folder name) score what their CSV scores.
/usr/bin/python3 - "$repo/models/keywords/eval" kwfolder <<'PY'
import csv, os, shutil, sys
src, dst = sys.argv[1], sys.argv[2]
names = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "_silence_", "_unknown_"]
for name, _, label in csv.reader(open(os.path.join(src, "y_labels.csv"))):
    folder = "Silence" if names[int(label)] == "_silence_" else names[int(label)]  # an alias too
    os.makedirs(os.path.join(dst, folder), exist_ok=True)
    shutil.copy(os.path.join(src, name), os.path.join(dst, folder, name))
PY
kw_model="$repo/models/keywords/dscnn_int8.safetensors"
expect_ok "eval a keyword model on WAV class folders" "$bin" eval --model "$kw_model" --data folder:kwfolder --confusion --json
mv out.txt kw_folder.json
expect_ok "eval the same clips through their CSV" "$bin" eval --model "$kw_model" --data "labels:$repo/models/keywords/eval/y_labels.csv" --json
/usr/bin/python3 - kw_folder.json out.txt <<'PY' && pass "WAV folders: same accuracy as the CSV, confusion rows sum to the clips" || fail "WAV folders: $(cat kw_folder.json out.txt)"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["n"] == b["n"] == 120 and a["accuracy"] == b["accuracy"], (a["accuracy"], b["accuracy"])
assert sum(map(sum, a["confusion"])) == 120 and sum(a["confusion"][k][k] for k in range(12)) == round(120 * a["accuracy"])
assert a["class_names"][10:] == ["_silence_", "_unknown_"]
PY
expect_error "a WAV folder for an image model" "no PNG" "$bin" eval --model "$repo/models/housenum/resnet8_int8.safetensors" --data folder:kwfolder

# TFLite import (the MLPerf Tiny files of ../shared/mlperf-tiny, when that folder exists).
mlperf="$repo/../shared/mlperf-tiny"
if [ -f "$mlperf/pretrainedResnet_quant.tflite" ]; then
  expect_ok "import-tflite ResNet-8 int8" "$bin" import-tflite "$mlperf/pretrainedResnet_quant.tflite" -o r8q.safetensors
  expect_ok "info on the imported file" "$bin" info r8q.safetensors
  grep -q "MACs per inference   12501632" out.txt && pass "imported ResNet-8 MACs" || fail "imported MACs: $(cat out.txt)"
  expect_ok "info --model FILE.tflite directly" "$bin" info "$mlperf/vww_96_int8.tflite"
  grep -q "int8 weights" out.txt && pass "a .tflite loads as an int8 model" || fail "tflite info: $(cat out.txt)"
  head -c 5000 "$mlperf/pretrainedResnet_quant.tflite" > truncated.tflite
  expect_error "import-tflite truncated file" "malformed TFLite flatbuffer" \
    "$bin" import-tflite truncated.tflite -o never.safetensors
  test ! -e never.safetensors && pass "a failed import writes nothing" || fail "a failed import wrote a file"
  # The real stereo Speech Commands clip of "marvin", in a folder named after its word, is
  # "_unknown_" (class 11) for the MLPerf KWS model, int8 and float.
  mkdir -p sc/marvin && cp "$mlperf/marvin_617de221_0.wav" sc/marvin/
  for kws in kws_ref_model.tflite kws_ref_model_float32.tflite; do
    expect_ok "eval $kws on the stereo marvin clip" "$bin" eval --model "$mlperf/$kws" --data folder:sc --json
    grep -q '"accuracy":1.0' out.txt && pass "$kws: marvin is _unknown_" || fail "$kws on marvin: $(cat out.txt)"
  done
  expect_ok "export-c-header of the stereo WAV" "$bin" export-c-header --model "$mlperf/kws_ref_model.tflite" \
    --input "$mlperf/marvin_617de221_0.wav" -o marvin.h
  grep -q "expected class 11" out.txt && pass "marvin's int8 codes give class 11" || fail "marvin header: $(cat out.txt)"
else
  echo "skip TFLite import: $mlperf is absent"
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
