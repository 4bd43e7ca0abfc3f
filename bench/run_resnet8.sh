#!/usr/bin/env bash
# ResNet-8 float benchmark: native, wasm (node) and the PyTorch peer, combined into one
# JSON object with the ratios the project tracks. Benchmarks never assert on time.
#
#   bench/run_resnet8.sh [--no-build] [--quick] [--train-only] [--repeats N]
#
# Uses the `native` and `wasm` presets' build trees (build/native, build/wasm); configures
# and builds bench_resnet8 in them unless --no-build. Set SLING_NATIVE_BUILD /
# SLING_WASM_BUILD to use other build trees. The native run exports its initial weights
# and a seeded input batch, so PyTorch runs the very same network and the logits are
# cross-checked. Progress goes to stderr, the JSON to stdout.
#
# It then measures training throughput (train step, batch 64) at 1 and 2 threads, ours
# (bench_resnet8 --threads N) and PyTorch's (torch.set_num_threads(N)), interleaved and
# repeated --repeats times (default 3), and reports the best and the median of the runs
# under "train_throughput". --train-only runs just that part (native build only).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
native_build="${SLING_NATIVE_BUILD:-$root/build/native}"
wasm_build="${SLING_WASM_BUILD:-$root/build/wasm}"
build=1
quick=()
train_only=0
repeats=3
usage() { echo "usage: $0 [--no-build] [--quick] [--train-only] [--repeats N]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --quick) quick=(--quick) ;;
    --train-only) train_only=1 ;;
    --repeats) [ $# -ge 2 ] || usage; repeats="$2"; shift ;;
    *) usage ;;
  esac
  shift
done
presets=(native wasm)
[ "$train_only" = 1 ] && presets=(native)

# emcc's optimizer needs Debian's acorn (see emsdk-config/env.sh).
# shellcheck source=/dev/null
. "$root/emsdk-config/env.sh"

if [ "$build" = 1 ]; then
  for preset in "${presets[@]}"; do
    dir="$native_build"; [ "$preset" = wasm ] && dir="$wasm_build"
    if [ ! -f "$dir/CMakeCache.txt" ]; then
      echo "configuring $preset ..." >&2
      (cd "$root" && cmake --preset "$preset" -B "$dir" >&2)
    fi
    echo "building bench_resnet8 ($preset) ..." >&2
    cmake --build "$dir" -j2 --target bench_resnet8 >&2
  done
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

load_before="$(load)"
echo "load average before: $load_before" >&2
peer_runs=1
[ "${#quick[@]}" -gt 0 ] && peer_runs=0.2

# Training throughput at 1 and 2 threads, ours and PyTorch's, interleaved so that load
# from other jobs hits both alike.
for r in $(seq 1 "$repeats"); do
  for t in 1 2; do
    echo "train step, $t thread(s), run $r/$repeats ..." >&2
    "$native_build/bench/bench_resnet8" "${quick[@]}" --train-only --no-ref --threads "$t" > "$tmp/ours_t${t}_r${r}.json"
    /usr/bin/python3 "$root/bench/peer_pytorch_resnet8.py" --train-only --threads "$t" --runs "$peer_runs" \
      > "$tmp/torch_t${t}_r${r}.json"
  done
done
/usr/bin/python3 "$root/bench/bench_train_throughput_summary.py" "$tmp" "$repeats" "$load_before" "$(load)" \
  > "$tmp/train.json"
if [ "$train_only" = 1 ]; then
  cat "$tmp/train.json"
  exit 0
fi

echo "running native ..." >&2
"$native_build/bench/bench_resnet8" "${quick[@]}" --export "$tmp/weights.json" > "$tmp/native.json"
echo "running wasm (node) ..." >&2
node --no-experimental-fetch "$wasm_build/bench/bench_resnet8.js" "${quick[@]}" > "$tmp/wasm.json"
echo "running the PyTorch peer ..." >&2
/usr/bin/python3 "$root/bench/peer_pytorch_resnet8.py" --weights "$tmp/weights.json" --threads 1 \
  --runs "$peer_runs" > "$tmp/peer.json"
echo "load average after: $(load)" >&2

/usr/bin/python3 - "$tmp" "$(load)" <<'EOF'
import json, sys
tmp, load_after = sys.argv[1], sys.argv[2]
native = json.load(open(f"{tmp}/native.json"))
wasm = json.load(open(f"{tmp}/wasm.json"))
peer = json.load(open(f"{tmp}/peer.json"))
train = json.load(open(f"{tmp}/train.json"))
peer.pop("weights", None)
n, w = native["simd"], wasm["simd"]
ratios = {
    # > 1: we are faster than PyTorch (goal for fwd+bwd: >= 1.0).
    "native_over_pytorch_fwd_bwd_b100": n["fwd_bwd_b100_images_per_s"] / peer["fwd_bwd_b100_images_per_s"],
    "native_over_pytorch_train_step_b64": n["train_step_b64_images_per_s"] / peer["train_step_b64_images_per_s"],
    "pytorch_over_native_forward_latency_b1": peer["forward_latency_b1_ms"] / n["forward_latency_b1_ms"],
    # > 1: how many times slower wasm is than native (goal for fwd+bwd: <= 2.5).
    "native_over_wasm_fwd_bwd_b100": n["fwd_bwd_b100_images_per_s"] / w["fwd_bwd_b100_images_per_s"],
    "native_over_wasm_train_step_b64": n["train_step_b64_images_per_s"] / w["train_step_b64_images_per_s"],
    "wasm_over_native_forward_latency_b1": w["forward_latency_b1_ms"] / n["forward_latency_b1_ms"],
}
if "fwd_bwd_b100_cpu_ms" in n and "fwd_bwd_b100_cpu_ms" in peer:
    # CPU time excludes time descheduled by other jobs on a shared machine.
    ratios["native_over_pytorch_fwd_bwd_b100_cpu_time"] = peer["fwd_bwd_b100_cpu_ms"] / n["fwd_bwd_b100_cpu_ms"]
out = {
    "benchmark": "resnet8_float",
    "native": native,
    "wasm": wasm,
    "pytorch": peer,
    "ratios": ratios,
    "goals": {"native_over_pytorch_fwd_bwd_b100": ">= 1.0", "native_over_wasm_fwd_bwd_b100": "<= 2.5"},
    "correctness": {
        "max_abs_logit_diff_pytorch_vs_native": peer.get("max_abs_logit_diff_vs_cpp"),
        "max_abs_logit_diff_native_simd_vs_ref": native["correctness"]["max_abs_logit_diff_simd_vs_ref"],
        "max_abs_logit_diff_wasm_simd_vs_ref": wasm["correctness"]["max_abs_logit_diff_simd_vs_ref"],
        "max_abs_logit": native["correctness"]["max_abs_logit"],
    },
    "train_throughput": train,
    "load_average_after": load_after,
}
print(json.dumps(out, indent=2))
EOF
