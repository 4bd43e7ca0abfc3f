#!/usr/bin/env bash
# ctest `cli_footprint`: `slingshot footprint` end to end on the zoo DS-CNN int8 on the M4
# (QEMU mps2-an386, 4 inputs from models/keywords/eval):
#  - the JSON has flash_bytes, ram_bytes and instructions, and they are consistent:
#    flash_bytes = model data + runtime + harness > model data >= export-c's constants > 0;
#    ram_bytes = static RAM + stack >= arena; instructions are the same as mcu-run reports
#    for the same inputs (mean and per layer), and exceed the sum of the per-layer counts
#    by at most 0.5 % (the table check and the runtime's loop between layers);
#  - latency = instructions / clock, at the part's maximum clock or --clock-mhz, and the
#    text output states the one-instruction-per-cycle assumption;
#  - bad inputs (cpu, part, model file, float model, clock) get one clear line and exit 1.
# Uses the shared firmware cache ($SLINGSHOT_CACHE_DIR or ~/.cache/slingshot). On the
# 2-core reference machine: 3 to 10 s, cached or not (6 s with an empty cache); up to
# ~40 s when the runtime and kernels compile for the M4 while the machine is loaded.
# Usage: run_footprint_tests.sh SLINGSHOT_BINARY
set -uo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/cli_test_lib.sh"
fails=0

require_tools arm-none-eabi-gcc qemu-system-arm
start=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
model="$repo/models/keywords/dscnn_int8.safetensors"

if "$bin" footprint --model "$model" --cpu m4 --json > fp.json 2> err.txt; then
  pass "footprint --json on dscnn_int8 (m4)"
else
  fail "footprint --json on dscnn_int8 (m4): $(cat err.txt)"
fi
if "$bin" mcu-run --model "$model" --input "$repo/models/keywords/eval" --n 4 --cpu m4 --json mr.json > out.txt 2> err.txt; then
  pass "mcu-run --json on the same 4 inputs"
else
  fail "mcu-run on the same 4 inputs: $(cat err.txt)"
fi
if python3 - fp.json mr.json <<'PY'; then
import json, sys
fp, mr = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("flash_bytes", "ram_bytes", "instructions", "latency_ms", "clock_mhz", "layers"):
    assert k in fp, f"missing {k}"
f, r = fp["flash"], fp["ram"]
assert fp["n"] == 4 and fp["part"] == "nrf52840" and fp["kernels"] == "dsp", fp
assert fp["flash_bytes"] == f["model_data_bytes"] + f["runtime_bytes"] + f["harness_bytes"], f
assert fp["flash_bytes"] > f["model_data_bytes"] >= f["model_constant_bytes"] > 0, f
# The model's runs in the ELF are its constants plus at most alignment padding.
assert f["model_data_bytes"] - f["model_constant_bytes"] < 64, f
assert f["runtime_bytes"] > 1000, f
assert f["model_constant_bytes"] == mr["constant_bytes"], (f, mr["constant_bytes"])
assert fp["ram_bytes"] == r["static_bytes"] + r["stack_bytes"], r
assert r["static_bytes"] >= r["arena_bytes"] == mr["arena_bytes"] > 0, r
assert fp["ram_bytes"] >= r["arena_bytes"] and 0 < r["stack_bytes"] < 65536, r
assert r["runtime_static_bytes"] == 0, r  # the runtime keeps no state of its own
assert fp["instructions"] == mr["instructions_mean"], (fp["instructions"], mr["instructions_mean"])
assert [l["instructions"] for l in fp["layers"]] == [l["instructions"] for l in mr["layers"]]
layer_sum = sum(l["instructions"] for l in fp["layers"])
assert layer_sum <= fp["instructions"] <= layer_sum * 1.005, (layer_sum, fp["instructions"])
assert fp["instructions_min"] <= fp["instructions"] <= fp["instructions_max"]
assert fp["clock_mhz"] == 64, fp["clock_mhz"]  # the nRF52840's maximum
assert abs(fp["latency_ms"] - fp["instructions"] / 64e3) < 1e-9, fp["latency_ms"]
assert "one instruction per cycle" in fp["latency_assumes"]
print(f"flash {fp['flash_bytes']} (model data {f['model_data_bytes']}, runtime {f['runtime_bytes']}), "
      f"RAM {fp['ram_bytes']} (arena {r['arena_bytes']}, stack {r['stack_bytes']}), {fp['instructions']} instructions, "
      f"{fp['latency_ms']:.2f} ms")
PY
  pass "footprint figures are consistent with each other and with mcu-run"
else
  fail "footprint figures: $(head -c 800 fp.json)"
fi

# The text report at a given clock.
if "$bin" footprint --model "$model" --cpu m4 --clock-mhz 100 > out.txt 2> err.txt &&
   grep -q "assuming one instruction per cycle" out.txt && grep -q "at 100 MHz (--clock-mhz)" out.txt &&
   grep -q "model data" out.txt && grep -q "stack high-water mark" out.txt; then
  pass "text report at --clock-mhz 100 states its assumption"
else
  fail "text report: $(cat out.txt err.txt)"
fi

# Bad inputs: one clear line each, exit 1.
expect_error "unknown cpu" "unknown cpu 'm9'" "$bin" footprint --model "$model" --cpu m9
expect_error "unknown part" "unknown part 'stm32x'" "$bin" footprint --model "$model" --cpu m4 --part stm32x
expect_error "part of another core" "not the requested m4" "$bin" footprint --model "$model" --cpu m4 --part stm32f767zi
expect_error "negative clock" "--clock-mhz must be" "$bin" footprint --model "$model" --cpu m4 --clock-mhz -5
expect_error "zero clock" "--clock-mhz must be" "$bin" footprint --model "$model" --cpu m4 --clock-mhz 0
expect_error "absurd clock" "--clock-mhz must be" "$bin" footprint --model "$model" --cpu m4 --clock-mhz 1e9
head -c 4096 /dev/urandom > garbage.safetensors
expect_error "a model file of random bytes" "garbage.safetensors" "$bin" footprint --model garbage.safetensors --cpu m4
expect_error "a missing model file" "nothere.safetensors" "$bin" footprint --model nothere.safetensors --cpu m4
expect_ok "init a float model" "$bin" init --arch tiny_cnn -o tiny.safetensors
expect_error "a float model" "is a float model" "$bin" footprint --model tiny.safetensors --cpu m4

echo "cli_footprint: $((SECONDS - start)) s"
[ "$fails" -eq 0 ] && echo "all footprint tests passed" || echo "$fails footprint test(s) FAILED"
exit $((fails > 0))
