#!/usr/bin/env bash
# Rebuilds the model zoo in models/ from its recipes: trains each float model (resuming
# an interrupted run from its checkpoint), quantizes it, and writes its model card, then
# the cards' Cortex-M figures (scripts/footprint_table.sh).
# A step whose output already exists is skipped, so the script can be re-run after an
# interruption; pass --force to rebuild everything.
#
#   scripts/build_zoo.sh [--force] [--only NAME] [BUILD_DIR]
#
# Shipped: the quantized models (models/<set>/*.safetensors other than *_float*), their
# cards (*.md) and the evaluation sets (models/<set>/eval/). The float intermediates are
# reproducible and stay out of git.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
force=0
only=""
build="$root/build/native"
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --only) only="$2"; shift ;;
    *) build="$1" ;;
  esac
  shift
done
bin="$build/slingshot"
[ -x "$bin" ] || { echo "build_zoo: $bin not found; run scripts/build.sh first" >&2; exit 1; }
cd "$root"

log() { echo "[zoo $(date +%H:%M:%S)] $*"; }
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }

# train RECIPE_NAME: trains models/recipes/NAME.json unless its output exists.
train() {
  local recipe="models/recipes/$1.json"
  local out
  out=$(sed -n 's/.*"output": *"\.\.\/\([^"]*\)".*/models\/\1/p' "$recipe")
  if [ "$force" = 0 ] && [ -f "$out" ]; then log "have $out"; return; fi
  local resume=()
  [ -f "$out.ckpt" ] && resume=(--resume)
  log "training $1 ${resume[*]}"
  "$bin" train "$recipe" "${resume[@]}"
}

# ship FLOAT_MODEL OUTPUT DATA SCHEME [INPUT_GRID]: quantizes and writes the card.
ship() {
  local float="$1" out="$2" data="$3" scheme="$4" grid="${5:-image}"
  if [ "$force" = 1 ] || [ ! -f "$out" ] || [ "$float" -nt "$out" ]; then
    log "quantizing $out"
    "$bin" quantize --model "$float" --data "$data" --scheme "$scheme" --input-grid "$grid" -o "$out"
  fi
  log "card for $out"
  "$bin" card "$out" --data "$data" --count 2000 -o "${out%.safetensors}.md"
}

if wanted housenum; then
  train housenum_resnet8_float
  ship models/housenum/resnet8_float.safetensors models/housenum/resnet8_int8.safetensors housenum int8
  train housenum_resnet8_int4_qat
  ship models/housenum/resnet8_int4_qat_float.safetensors models/housenum/resnet8_int4.safetensors housenum int4
  train housenum_resnet8_w4a4_qat
  ship models/housenum/resnet8_w4a4_qat_float.safetensors models/housenum/resnet8_w4a4.safetensors housenum int4
  train housenum_resnet8_ternary_stq
  ship models/housenum/resnet8_ternary_stq_float.safetensors models/housenum/resnet8_ternary.safetensors housenum ternary
  train housenum_resnet8_binary_qat
  ship models/housenum/resnet8_binary_qat_float.safetensors models/housenum/resnet8_binary.safetensors housenum binary
  train housenum_resnet8_pgd
  ship models/housenum/resnet8_pgd_float.safetensors models/housenum/resnet8_pgd_int8.safetensors housenum int8
  train housenum_resnet8_trades
  ship models/housenum/resnet8_trades_float.safetensors models/housenum/resnet8_trades_int8.safetensors housenum int8
  train housenum_resnet8_jr_stq
  ship models/housenum/resnet8_jr_stq_float.safetensors models/housenum/resnet8_jr_ternary.safetensors housenum ternary
  train housenum_resnet8_thermometer
  ship models/housenum/resnet8_thermometer_float.safetensors models/housenum/resnet8_thermometer_int8.safetensors \
    housenum int8
  [ -f models/housenum/eval/y_labels.csv ] && [ "$force" = 0 ] ||
    "$bin" export-dataset housenum --split test --count 200 -o models/housenum/eval
fi
if wanted keywords; then
  train keywords_dscnn_float
  ship models/keywords/dscnn_float.safetensors models/keywords/dscnn_int8.safetensors keywords int8 calibrated
  train keywords_dscnn_pgd
  ship models/keywords/dscnn_pgd_float.safetensors models/keywords/dscnn_pgd_int8.safetensors keywords int8 calibrated
  [ -f models/keywords/eval/y_labels.csv ] && [ "$force" = 0 ] ||
    "$bin" export-dataset keywords --split test --count 120 -o models/keywords/eval
fi
# The cards' Cortex-M section and the footprint table (slingshot card rewrites the whole
# card, so this runs after it); skipped without the Arm toolchain and QEMU.
if command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null; then
  log "footprint table (scripts/footprint_table.sh)"
  bash scripts/footprint_table.sh "$bin"
else
  log "no arm-none-eabi-gcc/qemu-system-arm: the cards keep no Cortex-M section (run scripts/footprint_table.sh later)"
fi
log "done; shipped files:"
find models -name '*.safetensors' ! -name '*_float*' -printf '%s %p\n' | sort -k2 | awk '{s += $1; print} END {printf "total %.2f MB\n", s / 1e6}'
