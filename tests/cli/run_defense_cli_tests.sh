#!/usr/bin/env bash
# End-to-end checks of the defense commands on the shipped housenum ResNet-8s: attacks
# through randomized smoothing (EOT), `slingshot certify` (Cohen et al.) with resume,
# `slingshot detect` (the feature-squeezing detector), an ensemble of defended models
# (version-2 ensemble file), and a clear one-line error for every bad parameter.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
source "$repo/tests/cli/cli_test_lib.sh"
PY="${PYTHON:-/usr/bin/python3}"
M="$repo/models/housenum/resnet8_int8.safetensors"
D="labels:$repo/models/housenum/eval/y_labels.csv"

# Randomized smoothing as a defense: the vote predicts, EOT attacks.
expect_ok "attack through randomized_smoothing" "$bin" attack --model "$M" --data "$D" --attack pgd --eps 8/255 \
  --max-iter 2 --n 4 --engine int8-simd --defense randomized_smoothing:sigma=0.25,samples=8,alpha=1 --eot-samples 2 \
  --json rs.json
"$PY" - <<'PY' && pass "smoothing report: eot, the vote's settings" || fail "smoothing report: $(head -c 800 rs.json)"
import json
r = json.load(open("rs.json"))
assert r["gradient_source"] == "eot" and r["eot_samples"] == 2, r
d = r["defenses"][0]
assert d["name"] == "randomized_smoothing" and d["randomized"] and d["settings"] == {"sigma": 0.25, "samples": 8, "alpha": 1}, d
assert r["n"] == 4 and 0 <= r["robust_accuracy"] <= r["clean_accuracy"] <= 1, r
PY
expect_error "smoothing sigma 0" "sigma must be" "$bin" attack --model "$M" --data "$D" --attack fgsm --n 1 \
  --defense randomized_smoothing:sigma=0 --json x.json
expect_error "two votes in one stack" "at most one voting defense" "$bin" attack --model "$M" --data "$D" --attack fgsm \
  --n 1 --defense randomized_smoothing --defense randomized_smoothing --json x.json
expect_ok "defenses list smoothing" "$bin" defenses
grep -q "randomized_smoothing" out.txt && pass "defenses lists randomized_smoothing" || fail "defenses listing: $(cat out.txt)"

# In a sweep: a defense stack like any other (the same registry).
printf '{"models": ["%s"], "engines": ["int8-simd"], "attacks": [{"name": "fgsm", "params": {}}], "eps": ["8/255"],
 "defenses": [["randomized_smoothing:sigma=0.25,samples=8,alpha=1"]], "data": "%s", "n": 2, "batch_size": 2, "seed": 1}' \
  "$M" "$D" > rs_sweep.json
expect_ok "sweep with randomized_smoothing" "$bin" sweep rs_sweep.json -o rs_sweep.jsonl
grep -q "randomized_smoothing" rs_sweep.jsonl && pass "sweep records the smoothing stack" || fail "sweep: $(head -c 400 rs_sweep.jsonl)"

# certify: 4 images, a resumed run equal to an uninterrupted one.
certify=(certify --model "$M" --data "$D" --engine int8-simd --sigma 0.25 --n0 20 --n 100 --alpha 0.01 --n-samples 4 --seed 5)
expect_ok "certify" "$bin" "${certify[@]}" --json cert.json
grep -q "certified accuracy" out.txt && pass "certify prints its table" || fail "certify table: $(cat out.txt)"
expect_ok "certify, stopped after 2" "$bin" "${certify[@]}" --json cert2.json --stop-after 2
test -s cert2.json.records.jsonl && [ ! -e cert2.json ] && pass "stopped certify keeps its records" || fail "certify records"
expect_ok "certify --resume" "$bin" "${certify[@]}" --json cert2.json --resume
grep -q "resuming" out.txt && pass "certify resumes" || fail "certify resume: $(cat out.txt)"
"$PY" - <<'PY' && pass "certify report: radii, monotone accuracy, resumed = uninterrupted" || fail "certify report: $(head -c 1200 cert.json)"
import json
a, b = json.load(open("cert.json")), json.load(open("cert2.json"))
acc = [c["accuracy"] for c in a["certified_accuracy"]]
assert [c["radius"] for c in a["certified_accuracy"]] == [0, 0.25, 0.5, 0.75, 1], a["certified_accuracy"]
assert all(x >= y for x, y in zip(acc, acc[1:])), acc
assert len(a["samples"]) == 4
for s in a["samples"]:
    assert (s["prediction"] == -1) == (s["radius"] == 0), s
    assert s["radius"] == 0 or s["p_lower"] > 0.5, s
    assert sum(s["counts"]) == 100, s
assert acc[0] == sum(s["correct"] for s in a["samples"]) / 4
strip = lambda r: [{k: v for k, v in s.items() if k != "seconds"} for s in r["samples"]]
assert strip(a) == strip(b), (strip(a), strip(b))
assert a["certified_accuracy"] == b["certified_accuracy"]
PY
expect_error "certify sigma <= 0" "--sigma must be a finite number > 0" "$bin" certify --model "$M" --data "$D" --sigma 0 --json x.json
expect_error "certify n0 > n" "--n0 (200) must not exceed --n (100)" "$bin" certify --model "$M" --data "$D" --n0 200 --n 100 --json x.json
expect_error "certify alpha" "--alpha must be in (0, 1)" "$bin" certify --model "$M" --data "$D" --alpha 1 --json x.json
expect_error "certify radii" "--radii" "$bin" certify --model "$M" --data "$D" --radii 0,abc --json x.json
expect_error "certify smoothing defense" "certify smooths the model itself" "$bin" certify --model "$M" --data "$D" \
  --defense randomized_smoothing --json x.json
expect_error "certify resume without records" "--resume" "$bin" "${certify[@]}" --json none.json --resume

# detect: calibrated on samples after the evaluated ones.
expect_ok "detect fgsm" "$bin" detect --model "$M" --data "$D" --attack fgsm --eps 8/255 --n 16 --calibration-n 40 \
  --engine int8-simd --fpr 0.05 --json det.json
"$PY" - <<'PY' && pass "detect report: rates, calibration split" || fail "detect report: $(head -c 1200 det.json)"
import json
r = json.load(open("det.json"))
d = r["detector"]
assert d["calibration"]["first_index"] == 16 and d["calibration"]["count"] == 40, d
assert d["calibration"]["false_positive_rate"] <= 0.05, d
assert d["requested_fpr"] == 0.05 and d["squeezers"] == ["bit_depth:bits=5", "median_filter:size=2"], d
for k in ("false_positive_rate", "detection_rate", "detection_rate_successful", "robust_accuracy_with_detection"):
    assert 0 <= r[k] <= 1, (k, r[k])
assert r["robust_accuracy"] <= r["robust_accuracy_with_detection"] <= r["clean_accuracy"], r
flagged = [e for e in r["examples"] if e["attacked"] and e["flagged"]]
attacked = [e for e in r["examples"] if e["attacked"]]
assert abs(r["detection_rate"] - len(flagged) / max(1, len(attacked))) < 1e-12
assert all((e["adversarial_score"] > d["threshold"]) == e["flagged"] for e in r["examples"])
assert r["adaptive_to_detector"] is False
PY
expect_error "detect fpr" "--fpr must be in [0, 1)" "$bin" detect --model "$M" --data "$D" --attack fgsm --fpr 1 --json x.json
expect_error "detect randomized squeezer" "is randomized" "$bin" detect --model "$M" --data "$D" --attack fgsm \
  --squeezer gaussian_noise --json x.json
expect_error "detect leaves no calibration" "leaves none for calibration" "$bin" detect --model "$M" --data "$D" \
  --attack fgsm --n 1000 --json x.json

# An ensemble of defended models (version-2 ensemble file).
E="$repo/models/housenum/resnet8_defended_ensemble.json"
expect_ok "attack the defended ensemble" "$bin" attack --model "$E" --data "$D" --attack fgsm --n 4 --engine int8-simd \
  --json ens.json
"$PY" - <<'PY' && pass "defended ensemble: bpda, every member's defense" || fail "defended ensemble: $(head -c 800 ens.json)"
import json
r = json.load(open("ens.json"))
assert r["gradient_source"] == "bpda", r["gradient_source"]
for spec in ("bit_depth:bits=5", "median_filter:size=2", "jpeg:quality=75"):
    assert spec in r["engine"], r["engine"]
PY
mkdir -p ens
cp "$M" ens/a.safetensors
printf '{"format": "slingshot-ensemble", "version": 2, "members": [{"model": "a.safetensors", "defenses": ["bit_depth:bits=9"]}, "a.safetensors"]}' > ens/bad.json
expect_error "ensemble member defense error" "ensemble member 0" "$bin" attack --model ens/bad.json --data "$D" \
  --attack fgsm --n 1 --json x.json
printf '{"format": "slingshot-ensemble", "version": 1, "members": [{"model": "a.safetensors"}, "a.safetensors"]}' > ens/v1.json
expect_error "version-1 ensemble with objects" "need version 2" "$bin" attack --model ens/v1.json --data "$D" \
  --attack fgsm --n 1 --json x.json

echo "defense CLI tests: $fails failure(s)"
[ "$fails" -eq 0 ]
