#!/usr/bin/env bash
# Attack benchmark: PGD on 100 housenum images, ours (native at 1 and 2 threads, wasm in
# node) against PyTorch on the same folded float network, plus our ste/int8-simd PGD and
# Square-attack queries/s on the int8 engines. Prints one JSON object with the ratios and
# the goal; benchmarks never assert on time.
#
#   bench/run_attacks.sh [--no-build] [--quick] [--repeats N]
#
# Uses the `native` and `wasm` presets' build trees (build/native, build/wasm), configured
# and built unless --no-build; SLING_NATIVE_BUILD / SLING_WASM_BUILD select others.
#
# 1. The native run exports the model's BN-folded float graph, the 100 images and our
#    logits (bench_attacks --export); peer_pytorch_pgd.py rebuilds the network from them
#    and reports the logit difference.
# 2. Correctness: one PGD iteration on both sides, each step's sign compared with a
#    float64 gradient on the same graph.
# 3. PGD timing (float gradients on the float engine, the peer's computation), --repeats
#    rounds (default 3), each running ours and PyTorch's at 1 and 2 threads in turn, so
#    load from other jobs hits both alike; each process times 3 PGD runs after a warm-up
#    (1 with --quick). Best and median over all runs, and the ratio per round.
# 4. Ours only: PGD with ste gradients judged on int8-simd (1 and 2 threads), Square on
#    int8-ref and int8-simd, and the whole set on wasm (node, one thread).
# Progress goes to stderr, the JSON to stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
native_build="${SLING_NATIVE_BUILD:-$root/build/native}"
wasm_build="${SLING_WASM_BUILD:-$root/build/wasm}"
build=1
quick=0
repeats=3
usage() { echo "usage: $0 [--no-build] [--quick] [--repeats N]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --quick) quick=1 ;;
    --repeats) [ $# -ge 2 ] || usage; repeats="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || usage
runs=3
quick_flag=()
if [ "$quick" = 1 ]; then runs=1; quick_flag=(--quick); fi

# emcc's optimizer needs Debian's acorn (see emsdk-config/env.sh).
# shellcheck source=/dev/null
. "$root/emsdk-config/env.sh"

if [ "$build" = 1 ]; then
  for preset in native wasm; do
    dir="$native_build"; [ "$preset" = wasm ] && dir="$wasm_build"
    if [ ! -f "$dir/CMakeCache.txt" ]; then
      echo "configuring $preset ..." >&2
      (cd "$root" && cmake --preset "$preset" -B "$dir" >&2)
    fi
    echo "building bench_attacks ($preset) ..." >&2
    cmake --build "$dir" -j2 --target bench_attacks >&2
  done
fi

ours="$native_build/bench/bench_attacks"
ours_wasm=(node --no-experimental-fetch "$wasm_build/bench/bench_attacks.js")
peer=(/usr/bin/python3 "$root/bench/peer_pytorch_pgd.py")
# Explicit paths: the build trees may have been configured from another checkout.
data=(--model "$root/models/housenum/resnet8_int8.safetensors" --eval-csv "$root/models/housenum/eval/y_labels.csv")

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before="$(load)"
echo "load average before: $load_before" >&2

echo "export + logits check ..." >&2
"$ours" "${data[@]}" --sections pgd-float --repeats 1 --export "$tmp/export" > "$tmp/export.json"
echo "correctness: one PGD iteration on both sides ..." >&2
"$ours" "${data[@]}" --sections pgd-float --repeats 1 --pgd-iters 1 --export "$tmp/check1" > "$tmp/check1_ours.json"
"${peer[@]}" --export "$tmp/check1" --runs 1 > "$tmp/check1_peer.json"

for r in $(seq 1 "$repeats"); do
  for t in 1 2; do
    echo "PGD, $t thread(s), round $r/$repeats: ours ..." >&2
    "$ours" "${data[@]}" --sections pgd-float --threads "$t" --repeats "$runs" > "$tmp/ours_t${t}_r${r}.json"
    echo "PGD, $t thread(s), round $r/$repeats: PyTorch ..." >&2
    "${peer[@]}" --export "$tmp/export" --threads "$t" --runs "$runs" > "$tmp/peer_t${t}_r${r}.json"
  done
done

echo "ours: PGD ste / int8-simd and Square (native) ..." >&2
"$ours" "${data[@]}" "${quick_flag[@]}" --sections pgd-ste,square --threads 1 > "$tmp/extra_t1.json"
"$ours" "${data[@]}" "${quick_flag[@]}" --sections pgd-ste --threads 2 > "$tmp/extra_t2.json"
echo "ours: wasm (node) ..." >&2
"${ours_wasm[@]}" "${data[@]}" "${quick_flag[@]}" --sections pgd-float,pgd-ste,square --repeats "$runs" > "$tmp/wasm.json"
load_after="$(load)"
echo "load average after: $load_after" >&2

commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | awk '{print $2}' | paste -sd, - || true)"
/usr/bin/python3 - "$tmp" "$repeats" "$load_before" "$load_after" "$commit" "$dirty" <<'EOF'
import datetime, json, os, statistics, sys
tmp, repeats, load_before, load_after, commit, dirty = sys.argv[1:7]
repeats = int(repeats)
rd = lambda name: json.load(open(f"{tmp}/{name}.json"))
export, c_ours, c_peer = rd("export"), rd("check1_ours"), rd("check1_peer")
extra1, extra2, wasm = rd("extra_t1"), rd("extra_t2"), rd("wasm")

def stats(ms, n=100):
    best, med = min(ms), statistics.median(ms)
    return {"runs_ms": ms, "best_ms": best, "median_ms": med,
            "best_images_per_s": n * 1e3 / best, "median_images_per_s": n * 1e3 / med}

LAYOUTS = (("pytorch", "pgd"), ("pytorch_channels_last", "pgd_channels_last"))
pgd, ratios, goal_met = {}, {}, {}
for t in (1, 2):
    ours_runs, ours_cpu = [], []
    peer_runs = {name: [] for name, _ in LAYOUTS}
    peer_cpu = {name: [] for name, _ in LAYOUTS}
    per_round = {name: [] for name, _ in LAYOUTS}
    for r in range(1, repeats + 1):
        oj, p = rd(f"ours_t{t}_r{r}"), rd(f"peer_t{t}_r{r}")
        o = oj["pgd_float"]
        ours_runs += o["runs_ms"]
        ours_cpu.append(o["median_cpu_ms"])
        for name, key in LAYOUTS:
            peer_runs[name] += p[key]["runs_ms"]
            peer_cpu[name].append(p[key]["median_process_cpu_ms"])
            # > 1: ours is faster. Medians of one interleaved pair of processes.
            per_round[name].append(p[key]["median_ms"] / o["median_ms"])
        acc = {"ours": o["robust_accuracy"], "ours_clean": o["clean_accuracy"], "pytorch_clean": p["clean_accuracy"]}
        acc.update({name: p[key]["robust_accuracy"] for name, key in LAYOUTS})
        threads_seen = {"ours": oj["threads"], "pytorch_get_num_threads": p["torch_get_num_threads"],
                        "pytorch_omp_max_threads": p["omp_max_threads"]}
    so = stats(ours_runs)
    entry = {"ours_native": {**so, "median_cpu_ms": statistics.median(ours_cpu)}}
    for name, _ in LAYOUTS:
        sp = stats(peer_runs[name])
        entry[name] = {**sp, "median_process_cpu_ms": statistics.median(peer_cpu[name])}
        suffix = "" if name == "pytorch" else "_channels_last"
        ratios[f"native_over_pytorch{suffix}_{t}t_best"] = sp["best_ms"] / so["best_ms"]
        ratios[f"native_over_pytorch{suffix}_{t}t_median"] = sp["median_ms"] / so["median_ms"]
        ratios[f"native_over_pytorch{suffix}_{t}t_cpu_time"] = (statistics.median(peer_cpu[name]) /
                                                                statistics.median(ours_cpu))
        entry[f"ours_over_{name}_per_round"] = per_round[name]
    entry["threads"], entry["robust_accuracy"] = threads_seen, acc
    pgd[f"threads_{t}"] = entry
    # The goal is judged against PyTorch's faster layout.
    fastest = min(entry[name]["best_ms"] for name, _ in LAYOUTS)
    ratios[f"native_over_fastest_pytorch_{t}t_best"] = fastest / so["best_ms"]
    goal_met[f"{t}_thread{'s' if t > 1 else ''}"] = fastest / so["best_ms"] >= 2.0

w = wasm["pgd_float"]
pgd["wasm"] = {k: w[k] for k in ("runs_ms", "best_ms", "median_ms", "best_images_per_s", "median_images_per_s",
                                  "robust_accuracy", "clean_accuracy")}
for name, _ in LAYOUTS:
    p1 = pgd["threads_1"][name]
    suffix = "" if name == "pytorch" else "_channels_last"
    ratios[f"wasm_over_pytorch{suffix}_1t_best"] = p1["best_ms"] / w["best_ms"]
    ratios[f"wasm_over_pytorch{suffix}_1t_median"] = p1["median_ms"] / w["median_ms"]
ratios["native_1t_over_wasm_best"] = w["best_ms"] / pgd["threads_1"]["ours_native"]["best_ms"]

def ste(j):
    s = j["pgd_ste_int8_simd"]
    return {k: s[k] for k in ("runs_ms", "best_ms", "median_ms", "best_images_per_s", "median_images_per_s",
                              "attack_only_median_ms", "attacked", "clean_accuracy", "robust_accuracy", "success_rate")}

square = {}
for plat, j in (("native", extra1), ("wasm", wasm)):
    for eng in ("int8_ref", "int8_simd"):
        s = j["square"][eng]
        square[f"{plat}_{eng}"] = {k: s[k] for k in ("images", "queries_per_run", "runs_ms", "best_queries_per_s",
                                                    "median_queries_per_s", "successes")}
square["params"] = extra1["square"]["int8_simd"]["params"]
for eng in ("int8_ref", "int8_simd"):
    square[f"native_over_wasm_{eng}_best"] = (square[f"native_{eng}"]["best_queries_per_s"] /
                                              square[f"wasm_{eng}"]["best_queries_per_s"])

peer1 = rd("peer_t1_r1")
out = {
    "benchmark": "attacks",
    "date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    "commit": commit,
    "working_tree_modified_files": [f for f in dirty.split(",") if f],
    "load_average_before": load_before,
    "load_average_after": load_after,
    "model": "models/housenum/resnet8_int8.safetensors (BN-folded float graph for pgd_float)",
    "images": "models/housenum/eval, first 100 of y_labels.csv",
    "pgd_settings": export["pgd_float"]["params"],
    "platform": {"native_highway_target": export["highway_target"], "compiler": export["compiler"],
                 "wasm_compiler": wasm["compiler"], "torch_version": peer1["torch_version"],
                 "torch_mkldnn": peer1["mkldnn"]},
    "pgd_float": pgd,
    "ratios": ratios,
    "goal": {"what": "native PGD at least 2x faster than PyTorch (ratio = PyTorch time / ours, best of runs, "
                     "against PyTorch's faster memory format)",
             "threshold": ">= 2.0", "met": goal_met},
    "correctness": {
        "max_abs_logit_diff_pytorch_vs_ours": peer1["max_abs_logit_diff_vs_ours"],
        "max_abs_logit": peer1["max_abs_logit"],
        "robust_accuracy_20_iters": {"ours_native": export["pgd_float"]["robust_accuracy"],
                                     "ours_wasm": w["robust_accuracy"],
                                     "pytorch": peer1["pgd"]["robust_accuracy"],
                                     "pytorch_channels_last": peer1["pgd_channels_last"]["robust_accuracy"]},
        "x_adv_20_iters_vs_ours": peer1["pgd"].get("x_adv_vs_ours"),
        "one_iteration": {"robust_accuracy_ours": c_ours["pgd_float"]["robust_accuracy"],
                          "robust_accuracy_pytorch": c_peer["pgd"]["robust_accuracy"],
                          "x_adv_vs_ours": c_peer["pgd"].get("x_adv_vs_ours"),
                          "signs_vs_float64": c_peer["pgd"].get("first_step_signs_vs_float64"),
                          "signs_vs_float64_channels_last": c_peer["pgd_channels_last"].get(
                              "first_step_signs_vs_float64")},
    },
    "pgd_ste_int8_simd": {"native_1t": ste(extra1), "native_2t": ste(extra2), "wasm": ste(wasm),
                          "params": extra1["pgd_ste_int8_simd"]["params"]},
    "square": square,
}
# On an oversubscribed machine the 2-thread figures say more about scheduling than about the
# code: neither side gets two cores, and PyTorch's OpenMP threads spin at their barriers.
cores = os.cpu_count() or 1
top_load = max(float(load_before.split()[0]), float(load_after.split()[0]))
if top_load > cores - 0.5:
    out["load_warning"] = (f"load average up to {top_load:g} on {cores} CPUs: other jobs shared the cores, so the "
                           "wall times are inflated and the 2-thread comparison is not meaningful (neither side gets "
                           "2 cores; PyTorch's OpenMP threads spin-wait at barriers when descheduled). Rerun on a "
                           "quiet machine before quoting the goal.")
    out["goal"]["judged_under_load"] = True
print(json.dumps(out, indent=2))
EOF
