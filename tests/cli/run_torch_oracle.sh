#!/usr/bin/env bash
# Cross-checks `slingshot grad` against PyTorch (tests/tools/torch_grad_oracle.py) on
# ResNet-8, DS-CNN, MobileNetV1-0.25 and a trained tiny CNN, with seeded inputs.
set -eu
bin="$1"
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" init --arch resnet8 --seed 1 -o resnet8.safetensors > /dev/null
"$bin" init --arch dscnn --seed 2 -o dscnn.safetensors > /dev/null
"$bin" init --arch mobilenet_v1 --seed 3 -o mobilenet.safetensors > /dev/null
"$bin" train --arch tiny_cnn --epochs 1 --train-size 200 --test-size 20 -o tiny.safetensors > /dev/null
/usr/bin/python3 - <<'PY'
import numpy as np
rng = np.random.RandomState(0)
for name, shape in [("resnet8", (32, 32, 3)), ("dscnn", (49, 10, 1)), ("mobilenet", (96, 96, 3)), ("tiny", (16, 16, 3))]:
    np.save(name + ".npy", rng.rand(*shape).astype(np.float32))
PY
for m in resnet8:3 dscnn:5 mobilenet:1 tiny:2; do
  name=${m%%:*}; label=${m##*:}
  /usr/bin/python3 "$here/tools/torch_grad_oracle.py" "$bin" "$name.safetensors" "$name.npy" "$label"
done
