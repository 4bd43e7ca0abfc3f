#!/usr/bin/env bash
# Instruction counts of one int8 inference of the MLPerf Tiny ResNet-8 and DS-CNN on
# emulated Cortex-M cores: the reference kernels vs the DSP-extension kernels
# (src/kernels/cortexm), per layer and summed, counted by SysTick under
# `qemu-system-arm -icount shift=0` (one instruction per virtual ns). Runs
# bench/cortexm/bench_kernels_main.cpp on the M4 (mps2-an386) and the M7 (mps2-an500) and
# prints one JSON object with the issue's ResNet-8 goal and the peer figure beside ours.
# Benchmarks never assert; the firmware itself exits non-zero if the two kernel sets
# disagree on any output byte.
#
#   bench/cortexm/run_bench.sh [--no-build] [--build-dir DIR] [--cpu m4|m7|all]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${SLING_CORTEXM_BUILD:-$root/build/cortex-m4}"
build=1
cpus=(m4 m7)
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --build-dir) build_dir="$2"; shift ;;
    --cpu)
      case "$2" in
        m4 | m7) cpus=("$2") ;;
        all) cpus=(m4 m7) ;;
        *) echo "unknown --cpu '$2' (m4, m7 or all)" >&2; exit 2 ;;
      esac
      shift ;;
    *) echo "usage: $0 [--no-build] [--build-dir DIR] [--cpu m4|m7|all]" >&2; exit 2 ;;
  esac
  shift
done
command -v qemu-system-arm >/dev/null || { echo "qemu-system-arm not found (run scripts/setup.sh)" >&2; exit 1; }

if [ "$build" = 1 ]; then
  [ -f "$build_dir/CMakeCache.txt" ] || (cd "$root" && cmake --preset cortex-m4 -B "$build_dir" >&2)
  echo "building the benchmark firmware in $build_dir ..." >&2
  cmake --build "$build_dir" -j2 --target "${cpus[@]/#/slingshot_bench_kernels_}" >&2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for cpu in "${cpus[@]}"; do
  elf="$build_dir/src/cortexm/slingshot_bench_kernels_$cpu.elf"
  [ -f "$elf" ] || { echo "firmware not built: $elf (run without --no-build)" >&2; exit 1; }
  machine=mps2-an386; [ "$cpu" = m7 ] && machine=mps2-an500
  echo "running $cpu on $machine ..." >&2
  if ! timeout 300 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
      -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" </dev/null \
      >"$tmp/$cpu.json" 2>"$tmp/$cpu.err"; then
    echo "the $cpu firmware failed (status $?; 1 = ref and dsp outputs differ):" >&2
    cat "$tmp/$cpu.json" "$tmp/$cpu.err" >&2
    exit 1
  fi
done

gcc_version="$(arm-none-eabi-gcc -dumpversion)"
qemu_version="$(qemu-system-arm --version | head -n1)"
python3 - "$tmp" "$gcc_version" "$qemu_version" "${cpus[@]}" <<'PY'
import json, sys
tmp, gcc, qemu, cpus = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
goal, peer = 36_000_000, 29_700_000
runs = {}
for cpu in cpus:
    with open(f"{tmp}/{cpu}.json") as f:
        runs[cpu] = json.loads(f.read().replace("\r", ""))
out = {
    "benchmark": "one int8 inference of the MLPerf Tiny ResNet-8 and DS-CNN (the .tflite files' layers)",
    "counted": "instructions under qemu-system-arm -icount shift=0 (SysTick, 40-instruction resolution)",
    "compiler": f"arm-none-eabi-gcc {gcc} -O3 (CMake Release), -mthumb, hard float",
    "qemu": qemu,
    "kernels": "ref: src/kernels/ref; dsp: conv2d_s8__dsp, depthwise_conv2d_s8__dsp, dense_s8__dsp "
               "(add and avg_pool: ref in both)",
    "cpus": {cpu: {"machine": "mps2-an386" if cpu == "m4" else "mps2-an500",
                   "networks": {n.pop("name"): n for n in runs[cpu]["networks"]}} for cpu in cpus},
}
if "m4" in runs:
    resnet = out["cpus"]["m4"]["networks"]["resnet8"]
    ours = resnet["dsp_instructions"]
    out["goal"] = {
        "m4_resnet8_dsp_instructions": ours,
        "goal_max_instructions": goal,
        "meets_goal": ours <= goal,
        "peer_best_published_optimized_m4": peer,
        "ours_over_peer": round(ours / peer, 3),
        "ref_over_dsp": round(resnet["ref_instructions"] / ours, 2),
    }
print(json.dumps(out, indent=2))
PY
