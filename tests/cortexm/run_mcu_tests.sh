#!/usr/bin/env bash
# ctest `cortexm_mcu`: the exported models on emulated Cortex-M cores (slingshot export-c,
# slingshot mcu-run), end to end:
#  - export-c output (int8 and packed ternary weights, and the thermometer encoding's
#    threshold table) compiles with -Wall -Wextra -Werror
#    for M4 and M3, its .rodata is the flash figure export-c prints; too-small parts and
#    corrupted model files are refused with one clear line;
#  - every shipped int8 zoo model (the thermometer-encoded one included) and the MLPerf Tiny
#    int8 models (when ../shared/mlperf-tiny exists) give, on 20 inputs each, output codes equal byte for byte to the host int8-ref
#    on M4 (mps2-an386) and M7 (mps2-an500); M3 (an385) and M55 (an547) on one model each;
#    M4, M7 and M55 run the DSP kernels, M3 the reference ones (the JSON's "kernels"); the
#    low-bit models (packed weights, unpacked by the runtime) on M4, M7 and, two of them, M3;
#  - the MLPerf Tiny ResNet-8 takes at most 36,000,000 instructions per inference on the M4
#    (issue 9's goal; an exact count under -icount, not a timing);
#  - adversarial examples saved by `slingshot attack --save-examples` get on the M4 the
#    class the attack reported.
# Usage: run_mcu_tests.sh SLINGSHOT_BINARY
set -uo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$repo/tests/cli/cli_test_lib.sh"
fails=0

require_tools arm-none-eabi-gcc qemu-system-arm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# A private firmware cache, so the test measures (and checks) a cold build too.
export SLINGSHOT_CACHE_DIR="$work/cache"
start=$SECONDS
zoo="$repo/models"
mlperf="$repo/../shared/mlperf-tiny"

# --- export-c: compiles cleanly for M4 and M3 (int8 weights, packed ternary ones, a thermometer head), refuses
# what does not fit or does not parse.
# compile_export CPU_FLAGS DIR: DIR/model_data.c (C99), the harness and every runtime source
# with warnings as errors; errors go to cc.txt, model_data.c's object to model_data.o.
compile_export() {
  local f
  arm-none-eabi-gcc $1 -mthumb -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I "$repo/src" -c "$2/model_data.c" \
    -o model_data.o 2> cc.txt || return 1
  arm-none-eabi-g++ $1 -mthumb -std=c++17 -Wall -Wextra -Werror -O2 -fno-exceptions -fno-rtti -I "$repo/src" \
    -I "$2" -c "$repo/src/cortexm/harness_main.cpp" -o harness.o 2>> cc.txt || return 1
  for f in "$repo"/src/cortexm/runtime/*.cpp; do
    arm-none-eabi-g++ $1 -mthumb -std=c++17 -Wall -Wextra -Werror -O2 -fno-exceptions -fno-rtti -I "$repo/src" \
      -c "$f" -o runtime.o 2>> cc.txt || return 1
  done
}
for m in resnet8_int8 resnet8_ternary resnet8_thermometer_int8; do
  expect_ok "export-c $m" "$bin" export-c --model "$zoo/housenum/$m.safetensors" -o exported_$m
  grep -q "fits nrf52840" out.txt && pass "export-c reports the default part ($m)" || fail "export-c output: $(cat out.txt)"
  constants=$(grep -o '[0-9]* bytes of weights and tables' out.txt | cut -d' ' -f1)
  for cpu in "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard" "-mcpu=cortex-m3 -mfloat-abi=soft"; do
    if compile_export "$cpu" exported_$m; then
      pass "model_data.c ($m), the runtime and the harness compile with -Wall -Wextra -Werror (${cpu%% *})"
      rodata=$(arm-none-eabi-size -A model_data.o | awk '$1 == ".rodata" {print $2}')
      [ "$rodata" = "$constants" ] && pass "export-c's flash figure ($constants B) is model_data.o's .rodata ($m)" ||
        fail "export-c says $constants bytes of constants for $m, model_data.o has $rodata of .rodata"
    else
      fail "export-c output of $m does not compile cleanly (${cpu%% *}): $(head -c 1500 cc.txt)"
    fi
  done
done
expect_error "weights too big for the part's flash" "do not fit the flash of stm32f103c8" \
  "$bin" export-c --model "$zoo/housenum/resnet8_int8.safetensors" -o small --part stm32f103c8
expect_error "arena too big for the part's RAM" "does not fit the RAM of stm32g431kb" \
  "$bin" export-c --model "$zoo/housenum/resnet8_int8.safetensors" -o small --part stm32g431kb
expect_error "mcu-run refuses a part of another core" "not the requested m7" \
  "$bin" mcu-run --model "$zoo/keywords/dscnn_int8.safetensors" --input random --cpu m7 --part nrf52840
expect_error "unknown part" "unknown part 'stm32x'" \
  "$bin" export-c --model "$zoo/housenum/resnet8_int8.safetensors" -o small --part stm32x
head -c 20000 "$zoo/housenum/resnet8_int8.safetensors" > truncated.safetensors
expect_error "a truncated model file" "truncated.safetensors" "$bin" export-c --model truncated.safetensors -o bad
head -c 4096 /dev/urandom > garbage.safetensors
expect_error "a model file of random bytes" "garbage.safetensors" "$bin" export-c --model garbage.safetensors -o bad
[ ! -e bad ] && pass "nothing written for a refused model" || fail "export-c wrote files for a corrupted model"

# --- mcu-run: byte-exact logits on M4 and M7.
# check_run NAME JSON N: the run's JSON has n == N and mismatches == 0.
check_run() {
  python3 - "$2" "$3" <<'PY' && pass "$1: $(python3 -c "import json,sys; r=json.load(open('$2')); print(r['n'], 'inputs, 0 mismatches,', r['kernels'], 'kernels,', r['instructions_mean'], 'instructions/inference')")" || fail "$1: $(head -c 600 "$2")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["n"] == int(sys.argv[2]) and r["mismatches"] == 0, (r["n"], r["mismatches"])
assert len(r["inputs"]) == r["n"] and all(i["logits_match"] and i["mcu_class"] == i["host_class"] for i in r["inputs"])
assert r["instructions_mean"] > 0 and len(r["layers"]) > 0 and all(l["instructions"] > 0 for l in r["layers"])
assert r["kernels"] == ("ref" if r["cpu"] == "m3" else "dsp"), (r["cpu"], r["kernels"])
PY
}
# run_json NAME CPU: the JSON file mcu_run writes for that run.
run_json() { echo "run_$(echo "$1-$2" | tr -c 'a-zA-Z0-9_-' _).json"; }
# mcu_run NAME MODEL INPUT CPU [N]: mcu-run on N (20) inputs and check its JSON.
mcu_run() {
  local name=$1 model=$2 input=$3 cpu=$4 n=${5:-20}
  local json
  json=$(run_json "$name" "$cpu")
  if "$bin" mcu-run --model "$model" --input "$input" --cpu "$cpu" --n "$n" --json "$json" > out.txt 2> err.txt; then
    check_run "$name on $cpu" "$json" "$n"
  else
    fail "$name on $cpu: $(tail -c 1500 err.txt)"
  fi
}
for cpu in m4 m7; do
  for m in resnet8_int8 resnet8_int4 resnet8_ternary resnet8_binary resnet8_w4a4 resnet8_jr_ternary resnet8_pgd_int8 \
           resnet8_trades_int8 resnet8_thermometer_int8; do
    mcu_run "$m" "$zoo/housenum/$m.safetensors" "$zoo/housenum/eval" $cpu
  done
  for m in dscnn_int8 dscnn_pgd_int8; do
    mcu_run "$m" "$zoo/keywords/$m.safetensors" "$zoo/keywords/eval" $cpu
  done
  if [ -d "$mlperf" ]; then
    mcu_run "mlperf ResNet-8" "$mlperf/pretrainedResnet_quant.tflite" housenum $cpu
    mcu_run "mlperf DS-CNN" "$mlperf/kws_ref_model.tflite" "$zoo/keywords/eval" $cpu
    mcu_run "mlperf VWW MobileNet" "$mlperf/vww_96_int8.tflite" shapes $cpu
    mcu_run "mlperf AD autoencoder" "$mlperf/ad01_int8.tflite" random:7 $cpu
    if [ $cpu = m4 ]; then
      python3 - "$(run_json "mlperf ResNet-8" m4)" <<'PY' && pass "mlperf ResNet-8 on m4 runs the dsp kernels in at most 36,000,000 instructions per inference" || fail "mlperf ResNet-8 on m4 over the 36 M instruction budget (or not the dsp kernels)"
import json, sys
r = json.load(open(sys.argv[1]))
worst = max(i["instructions"] for i in r["inputs"])
print("  mlperf ResNet-8 on m4:", r["kernels"], "kernels, at most", worst, "instructions per inference")
assert r["kernels"] == "dsp" and r["n"] > 0 and worst <= 36_000_000, worst
PY
    fi
  else
    echo "skip MLPerf Tiny models on $cpu: $mlperf is absent"
  fi
done
"$bin" mcu-run --model "$zoo/keywords/dscnn_int8.safetensors" --input "$zoo/keywords/eval" --cpu m4 --n 20 > out.txt 2> err.txt
grep -q "firmware reused" out.txt && pass "a second run reuses the cached firmware" || fail "firmware cache: $(head -3 out.txt)"
expect_error "a missing toolchain names the setup script" "run scripts/setup.sh" \
  env PATH=/nonexistent "$bin" mcu-run --model "$zoo/keywords/dscnn_int8.safetensors" --input random --cpu m4
# The harness refuses bad input files with its documented exit statuses.
elf=$(ls "$SLINGSHOT_CACHE_DIR"/mcu/m4-*/harness-*.elf | head -1)
harness_status() {  # harness_status INPUTS_FILE_OR_EMPTY: QEMU's exit status in a fresh dir
  rm -rf h && mkdir h && { [ -z "$1" ] || cp "$1" h/inputs.bin; }
  (cd h && timeout 60 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
     -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" > /dev/null 2>&1)
  echo $?
}
printf 'XXXX\1\0\0\0\1\0\0\0\1\0\0\0' > bad_magic.bin
printf 'SLIN\1\0\0\0\1\0\0\0\7\0\0\0' > bad_size.bin
[ "$(harness_status "")" = 2 ] && [ "$(harness_status bad_magic.bin)" = 3 ] && [ "$(harness_status bad_size.bin)" = 4 ] &&
  pass "harness exit statuses: 2 no inputs.bin, 3 bad header, 4 wrong input size" ||
  fail "harness exit statuses: $(harness_status "") $(harness_status bad_magic.bin) $(harness_status bad_size.bin)"
mcu_run "dscnn_int8 (no DSP, soft float)" "$zoo/keywords/dscnn_int8.safetensors" "$zoo/keywords/eval" m3
mcu_run "resnet8_int8 (no DSP, soft float)" "$zoo/housenum/resnet8_int8.safetensors" "$zoo/housenum/eval" m3 4
mcu_run "resnet8_ternary (packed, no DSP)" "$zoo/housenum/resnet8_ternary.safetensors" "$zoo/housenum/eval" m3 4
mcu_run "resnet8_binary (packed, no DSP)" "$zoo/housenum/resnet8_binary.safetensors" "$zoo/housenum/eval" m3 4
mcu_run "dscnn_int8" "$zoo/keywords/dscnn_int8.safetensors" "$zoo/keywords/eval" m55
mcu_run "resnet8_int8" "$zoo/housenum/resnet8_int8.safetensors" "$zoo/housenum/eval" m55 4

# --- adversarial examples found on the host fool the emulated M4 the same way.
expect_ok "fgsm with saved examples" "$bin" attack --model "$zoo/housenum/resnet8_int8.safetensors" \
  --data "labels:$zoo/housenum/eval/y_labels.csv" --attack fgsm --eps 8/255 --n 12 --json fgsm.json --save-examples adv
if "$bin" mcu-run --model "$zoo/housenum/resnet8_int8.safetensors" --input adv --cpu m4 --json adv.json > out.txt 2> err.txt; then
  python3 - <<'PY' && pass "saved adversarial PNGs: M4 class = the attack's int8 prediction, logits byte-exact" || fail "adversarial examples on M4: $(cat out.txt | head -20)"
import json, re
r = json.load(open("adv.json"))
assert r["n"] > 0 and r["mismatches"] == 0
for i in r["inputs"]:
    want = int(re.search(r"_adv(\d+)\.png$", i["name"]).group(1))
    assert i["mcu_class"] == want, (i["name"], i["mcu_class"])
PY
else
  fail "mcu-run on the saved examples: $(tail -c 1500 err.txt)"
fi

echo "cortexm_mcu: $((SECONDS - start)) s"
[ "$fails" -eq 0 ] && echo "PASS: all checks" || { echo "FAILED: $fails checks"; exit 1; }
