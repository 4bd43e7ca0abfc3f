#!/usr/bin/env bash
# Smoke test of `slingshot study --quick`: the structure of the report, not its numbers.
# Every finding has a claim, a measurement and a verdict in report.md and report.json,
# every plot it names is a PNG on disk, a second run reads every finding back from
# DIR/findings/ instead of recomputing it, and --only recomputes one finding while the
# report keeps the rest. A missing zoo and an unknown finding are clear errors.
# Usage: run_study_smoke.sh path/to/slingshot
set -euo pipefail
cli="$1"
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cli" study --quick --models "$root/models" -o "$out/study" 2> "$out/first.log" || { cat "$out/first.log"; fail "study --quick failed"; }
cat "$out/first.log"
[ -s "$out/study/report.md" ] || fail "no report.md"
python3 - "$out/study" <<'PY' || fail "report structure"
import json, pathlib, sys
d = pathlib.Path(sys.argv[1])
report = json.loads((d / "report.json").read_text())
md = (d / "report.md").read_text()
assert report["quick"] is True, "report.json does not say quick"
ids = [f["id"] for f in report["findings"]]
assert ids == ["input_quantization", "gradient_masking", "transfer", "preprocessing", "train_defenses", "patch",
               "jr_ternary"], ids
for f in report["findings"]:
    assert f["verdict"] in ("agrees", "disagrees", "mixed"), f["verdict"]
    assert f["claim"] and f["summary"] and f["data"], f["id"]
    assert f"**Verdict:** {f['verdict']}." in md, f["id"]
    assert f["plots"], f"{f['id']} has no plot"
    for p in f["plots"]:
        assert (d / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", p
        assert f"]({p})" in md, p
    assert (d / "findings" / f"{f['id']}.json").exists(), f["id"]
print("report structure ok:", ", ".join(f"{f['id']}={f['verdict']}" for f in report["findings"]))
PY

# Resume: every finding comes back from the cache.
"$cli" study --quick --models "$root/models" -o "$out/study" 2> "$out/second.log" || fail "second run failed"
[ "$(grep -c 'cached from an earlier run' "$out/second.log")" = 7 ] || { cat "$out/second.log"; fail "the second run recomputed findings"; }

# --only recomputes one finding and keeps the others' cached results in the report.
rm "$out/study/findings/jr_ternary.json"
"$cli" study --quick --models "$root/models" --only jr_ternary -o "$out/study" 2> "$out/third.log" || fail "--only run failed"
[ "$(grep -c 'cached from an earlier run' "$out/third.log")" = 6 ] || { cat "$out/third.log"; fail "--only: want 6 cached findings"; }
grep -q "^study: jr_ternary$" "$out/third.log" || fail "--only did not recompute jr_ternary"
[ "$(grep -c '^## ' "$out/study/report.md")" = 7 ] || fail "--only dropped findings from report.md"

if "$cli" study --quick --models "$out/nowhere" -o "$out/x" 2> "$out/err.log"; then fail "a missing zoo was accepted"; fi
grep -q "y_labels.csv" "$out/err.log" || { cat "$out/err.log"; fail "the missing zoo error does not name the file"; }
if "$cli" study --quick --only nosuch -o "$out/x" 2> "$out/err.log"; then fail "an unknown finding was accepted"; fi
grep -q "no finding is called 'nosuch'" "$out/err.log" || { cat "$out/err.log"; fail "unknown finding error"; }
echo "study smoke test passed"
