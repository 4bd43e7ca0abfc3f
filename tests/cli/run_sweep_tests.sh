#!/usr/bin/env bash
# Sweeps end to end (docs/sweeps.md): one run and 4 shards under GNU parallel merge into
# the same bytes; merge names duplicated and missing items; a shard stopped, torn or
# killed resumes without recomputing what it finished; bad specs fail with one clear line.
set -u
bin="$1"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
spec="$repo/examples/sweeps/housenum_small.json"  # 16 configs x 2 batches = 32 items
total=32
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
source "$repo/tests/cli/cli_test_lib.sh"
lines() { wc -l < "$1" | tr -d ' '; }

# (a) One process, then 4 shards under GNU parallel: byte-identical results.
start=$(date +%s%N)
expect_ok "single run" "$bin" sweep "$spec" -o single.jsonl
echo "     single run of $total items: $((($(date +%s%N) - start) / 1000000)) ms"
[ "$(lines single.jsonl)" -eq $total ] && pass "single run writes $total items" || fail "single run lines: $(lines single.jsonl)"
expect_ok "merge single" "$bin" merge "$spec" single.jsonl -o single.json
grep -q "merged $total items (16 configs) from 1 files" out.txt && pass "merge summary" || fail "merge summary: $(cat out.txt)"
if command -v parallel > /dev/null; then
  expect_ok "4 shards under GNU parallel" parallel --will-cite --halt now,fail=1 -j 2 \
    "$bin" sweep "$spec" --shard {}/4 -o shard{}.jsonl ::: 0 1 2 3
else
  echo "     GNU parallel is not installed (scripts/setup.sh installs it): running the shards as background jobs"
  for i in 0 1 2 3; do "$bin" sweep "$spec" --shard $i/4 -o shard$i.jsonl 2> shard$i.err & done
  wait && pass "4 shards as background jobs" || fail "a shard failed: $(cat shard*.err)"
fi
for i in 0 1 2 3; do
  [ "$(lines shard$i.jsonl)" -eq 8 ] || fail "shard $i holds $(lines shard$i.jsonl) items, not 8"
done
expect_ok "merge 4 shards" "$bin" merge "$spec" shard0.jsonl shard1.jsonl shard2.jsonl shard3.jsonl -o sharded.json
cmp -s single.json sharded.json && pass "4 shards merge byte-identical to one run" || fail "sharded results differ: $(diff single.json sharded.json | head -5)"
expect_ok "merge in another order" "$bin" merge "$spec" shard3.jsonl shard1.jsonl shard0.jsonl shard2.jsonl -o shuffled.json
cmp -s single.json shuffled.json && pass "shard order does not matter" || fail "shard order changes results"

# A sweep config equals `slingshot attack` with the same settings (config 2: int8 model,
# fgsm at 8/255, undefended).
expect_ok "attack with config 2's settings" "$bin" attack --model "$repo/models/housenum/resnet8_int8.safetensors" \
  --data "labels:$repo/models/housenum/eval/y_labels.csv" --attack fgsm --eps 8/255 --n 8 --batch-size 4 --seed 3 \
  --engine int8-ref --json attack.json
python3 - single.json attack.json <<'PY' && pass "sweep config equals slingshot attack" || fail "sweep config differs from slingshot attack"
import json, sys
sweep = json.load(open(sys.argv[1]))["configs"][2]
attack = json.load(open(sys.argv[2]))
assert (sweep["attack"], sweep["eps"], sweep["defenses"]) == ("fgsm", attack["params"]["eps"], []), sweep
for key in ("clean_accuracy", "robust_accuracy", "success_rate", "attacked", "mean_distortion_of_successes", "queries"):
    assert sweep[key] == attack[key], (key, sweep[key], attack[key])
PY

# (b) Merge refuses a duplicate (a shard given twice) and a gap (a shard left out).
expect_error "merge refuses a duplicated shard" "8 duplicated" \
  "$bin" merge "$spec" shard0.jsonl shard0.jsonl shard1.jsonl shard2.jsonl shard3.jsonl -o dup.json
first_id=$(python3 -c "import json; print(json.loads(open('shard0.jsonl').readline())['item'])")
grep -qF "$first_id (config 0: fgsm" err.txt && grep -qF "shard0.jsonl:1, shard0.jsonl:1" err.txt \
  && pass "duplicate error names the item and where it is" || fail "duplicate error: $(cat err.txt)"
expect_error "merge refuses a missing shard" "8 of $total missing" \
  "$bin" merge "$spec" shard0.jsonl shard1.jsonl shard2.jsonl -o gap.json
missing_id=$(python3 -c "import json; print(json.loads(open('shard3.jsonl').readline())['item'])")
grep -qF "$missing_id" err.txt && pass "gap error names the missing item" || fail "gap error: $(cat err.txt)"
[ ! -e dup.json ] && [ ! -e gap.json ] && pass "a refused merge writes nothing" || fail "refused merge wrote a file"

# (c) Resume: stopped after 3 items with a torn line appended by hand, then killed mid-run.
expect_ok "shard 1 stopped after 3 items" "$bin" sweep "$spec" --shard 1/4 -o resumed1.jsonl --max-items 3
[ "$(lines resumed1.jsonl)" -eq 3 ] && pass "3 items written" || fail "stopped shard lines: $(lines resumed1.jsonl)"
cp resumed1.jsonl before.jsonl
printf '{"sweep":"%s","item":"torn' "$(python3 -c "import json; print(json.loads(open('before.jsonl').readline())['sweep'])")" >> resumed1.jsonl
expect_ok "shard 1 resumed" "$bin" sweep "$spec" --shard 1/4 -o resumed1.jsonl
grep -q "skipping 3 finished items" err.txt && pass "resume skips the 3 finished items" || fail "resume message: $(cat err.txt)"
grep -q "dropping a torn last line" err.txt && pass "resume drops the torn line" || fail "torn line message: $(cat err.txt)"
[ "$(grep -c 'items done' err.txt)" -eq 5 ] && pass "resume computes only the 5 others" || fail "items computed: $(grep -c 'items done' err.txt)"
[ "$(lines resumed1.jsonl)" -eq 8 ] && cmp -s before.jsonl <(head -n 3 resumed1.jsonl) \
  && pass "finished lines kept as they were" || fail "resumed file: $(lines resumed1.jsonl) lines"
expect_ok "rerun of a finished shard" "$bin" sweep "$spec" --shard 1/4 -o resumed1.jsonl
grep -q "all 8 items already" out.txt && [ "$(lines resumed1.jsonl)" -eq 8 ] && pass "a finished shard does nothing" || fail "rerun: $(cat out.txt)"
expect_ok "merge with the resumed shard" "$bin" merge "$spec" shard0.jsonl resumed1.jsonl shard2.jsonl shard3.jsonl -o resumed.json
cmp -s single.json resumed.json && pass "resumed shard merges identically" || fail "resumed shard results differ"

# A real kill: SIGKILL the whole sweep once it has written 2 items, then rerun it.
"$bin" sweep "$spec" -o killed.jsonl 2> killed.err &
pid=$!
for _ in $(seq 1 600); do
  [ -f killed.jsonl ] && [ "$(lines killed.jsonl)" -ge 2 ] && break
  sleep 0.05
done
kill -KILL $pid 2> /dev/null
wait $pid 2> /dev/null
kept=$(lines killed.jsonl)
echo "     killed after $kept of $total items"
expect_ok "killed sweep resumed" "$bin" sweep "$spec" -o killed.jsonl
if [ "$kept" -lt $total ]; then
  grep -q "skipping $kept finished items" err.txt && pass "killed run skips its $kept finished items" || fail "kill resume: $(cat err.txt)"
  [ "$(grep -c 'items done' err.txt)" -eq $((total - kept)) ] && pass "and computes the other $((total - kept))" || fail "recomputed: $(grep -c 'items done' err.txt)"
else
  echo "     (the run finished before the kill; the torn-line case above covers the resume)"
fi
expect_ok "merge the resumed run" "$bin" merge "$spec" killed.jsonl -o killed.json
cmp -s single.json killed.json && pass "killed and resumed run merges identically" || fail "resumed results differ"

# (d) Bad input: one line naming the problem, exit 1.
python3 - "$spec" <<'PY'
import json, sys, os
spec = json.load(open(sys.argv[1]))
base = os.path.dirname(sys.argv[1])
spec["models"] = [os.path.normpath(os.path.join(base, m)) for m in spec["models"]]
spec["data"] = "labels:" + os.path.normpath(os.path.join(base, spec["data"][7:]))
def write(name, change):
    s = json.loads(json.dumps(spec)); change(s); json.dump(s, open(name, "w"))
write("unknown_key.json", lambda s: s.update(epsilon=[0.1]))
write("unknown_attack.json", lambda s: s["attacks"][0].update(name="fgsn"))
write("missing_model.json", lambda s: s["models"].append("nothere.safetensors"))
write("negative_eps.json", lambda s: s["eps"].append(-0.01))
write("bad_param.json", lambda s: s["attacks"][1]["params"].update(max_iter="two"))
write("bad_defense.json", lambda s: s["defenses"].append(["blur"]))
write("unknown_engine.json", lambda s: s.update(engines=["int8-ref", "int9"]))
write("too_many.json", lambda s: s.update(n=5000))
write("other_seed.json", lambda s: s.update(seed=4))
PY
expect_error "unknown key" "'epsilon' is not a known key" "$bin" sweep unknown_key.json -o x.jsonl
expect_error "unknown attack" "attacks[0].name" "$bin" sweep unknown_attack.json -o x.jsonl
grep -qF "fgsn" err.txt && pass "unknown attack named" || fail "unknown attack message: $(cat err.txt)"
expect_error "missing model file" "models[2]: no model file 'nothere.safetensors'" "$bin" sweep missing_model.json -o x.jsonl
expect_error "negative eps" "eps[2]: -0.01 is negative" "$bin" sweep negative_eps.json -o x.jsonl
expect_error "bad attack parameter" "attacks[1].params.max_iter: expected an integer" "$bin" sweep bad_param.json -o x.jsonl
expect_error "unknown defense" "defenses[2]" "$bin" sweep bad_defense.json -o x.jsonl
expect_error "unknown engine" "engines[1]" "$bin" sweep unknown_engine.json -o x.jsonl
expect_error "n beyond the data" "holds 200 samples, but the spec asks n = 5000" "$bin" sweep too_many.json -o x.jsonl
expect_error "shard 4/4" "shard indices run from 0 to 3" "$bin" sweep "$spec" --shard 4/4 -o x.jsonl
expect_error "malformed shard" "--shard expects i/N" "$bin" sweep "$spec" --shard 1of4 -o x.jsonl
expect_error "output of another spec" "was written for another sweep spec" "$bin" sweep other_seed.json -o single.jsonl
expect_error "output of another shard" "is not in shard 2/4" "$bin" sweep "$spec" --shard 2/4 -o shard0.jsonl
expect_error "merge against another spec" "was written for another sweep" "$bin" merge other_seed.json single.jsonl -o x.json
expect_error "spec that is not JSON" "not valid JSON" "$bin" sweep shard0.jsonl -o x.jsonl
[ ! -e x.jsonl ] || [ ! -s x.jsonl ] && pass "failed runs write no items" || fail "a failed run wrote items"

if [ "$fails" -gt 0 ]; then
  echo "$fails sweep check(s) failed"
  exit 1
fi
echo "all sweep checks passed"
