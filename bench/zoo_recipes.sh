#!/usr/bin/env bash
# Wall time and accuracy of every shipped zoo model's recipe, as one JSON object, read
# from the models' own metadata (written by `slingshot train`) and re-measured accuracy
# (`slingshot card`). Goal from the issue: the base housenum ResNet-8 trains in under 20
# minutes on the 2-core reference machine.
#
#   bench/zoo_recipes.sh [BUILD_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/build/native}/slingshot"
cd "$root"
echo "{"
echo "  \"benchmark\": \"zoo_recipes\","
echo "  \"machine\": \"$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\","
echo "  \"goal\": {\"housenum_resnet8_float_train_minutes\": \"< 20\"},"
echo "  \"models\": ["
first=1
for m in models/housenum/*.safetensors models/keywords/*.safetensors; do
  case "$m" in *_float*) continue ;; esac
  data=housenum; case "$m" in models/keywords/*) data=keywords ;; esac
  [ $first = 1 ] || echo ","
  first=0
  "$bin" card "$m" --data "$data" --count 2000 --json | sed 's/^/    /'
done
echo "  ]"
echo "}"
