#!/usr/bin/env bash
# `slingshot export-onnx` end to end: trains and quantizes small models with the CLI,
# exports them as float and int8 QDQ ONNX, and runs the exports in onnxruntime-node
# (check_onnx.mjs) on the same images as our engines. Float logits must match the float
# engine within 1e-4 relative, int8 top-1 must agree with int8-ref on >= 99.5% of 600
# images with every conv/dense on an ORT int8 kernel. Prints each check's figures as JSON.
#   run_onnx_check.sh SLINGSHOT_BINARY [REPO_DIR]
set -u
bin="$1"
repo="${2:-$(cd "$(dirname "$0")/../.." && pwd)}"
check="$repo/tests/onnx/check_onnx.mjs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
passes=0
fails=0

# run NAME CMD...: CMD must exit 0; its stdout (the JSON figures) is shown.
run() {
  local name="$1"; shift
  "$@" > out.txt 2> err.txt
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    passes=$((passes + 1)); echo "ok   $name"; grep '^{' out.txt || true
  else
    fails=$((fails + 1)); echo "FAIL $name (exit $rc)"; cat out.txt err.txt
  fi
}
# expect_error NAME TEXT CMD...: exit status 1 and one stderr line containing TEXT.
expect_error() {
  local name="$1" text="$2"; shift 2
  "$@" > out.txt 2> err.txt
  local rc=$?
  if [ "$rc" -eq 1 ] && grep -qF -- "$text" err.txt && [ "$(wc -l < err.txt)" -eq 1 ]; then
    passes=$((passes + 1)); echo "ok   $name"
  else
    fails=$((fails + 1)); echo "FAIL $name: exit $rc, stderr: $(cat err.txt)"
  fi
}
# export_and_check LABEL MODEL [check_onnx options...]: float and int8 exports of a
# quantized model, checked against our float and int8-ref logits on 600 test images.
export_and_check() {
  local label="$1" model="$2"; shift 2
  run "$label: export float" "$bin" export-onnx --model "$model" -o "$label.f.onnx" --check-inputs 600 \
      --check-out "$label.check.json"
  run "$label: export int8" "$bin" export-onnx --model "$model" --int8 -o "$label.q.onnx"
  run "$label: onnxruntime" node "$check" --check "$label.check.json" --float "$label.f.onnx" \
      --int8 "$label.q.onnx" --label "$label" "$@"
}

# 1. The demo's tiny CNN, trained as `slingshot demo` trains it, then PTQ int8.
run "train tiny_cnn" "$bin" train --arch tiny_cnn --seed 1 -o tiny.safetensors
run "quantize tiny_cnn" "$bin" quantize --model tiny.safetensors -o tiny_q.safetensors
export_and_check tiny_cnn tiny_q.safetensors
# int4 weights and 4-bit activations: the grids' ranges and the fused ReLU clamps become
# int8 Clips between Q and DQ. At 4 bits our own fakequant engine and int8-ref disagree on
# a few percent of the images, and ONNX's QDQ semantics are fakequant's, so compare to it.
run "quantize tiny_cnn int4/a4" "$bin" quantize --model tiny.safetensors --scheme int4 --act-bits 4 -o tiny_q4.safetensors
export_and_check tiny_cnn_int4_a4 tiny_q4.safetensors --int8-against fakequant
# The float file itself: batch norm exported as BatchNormalization, not folded.
run "tiny_cnn float file: export" "$bin" export-onnx --model tiny.safetensors -o tiny_bn.onnx --check-inputs 600 \
    --check-out tiny_bn.json
run "tiny_cnn float file: onnxruntime" node "$check" --check tiny_bn.json --float tiny_bn.onnx --label tiny_cnn_bn

# 2. ResNet-8 (initialized, not trained): SAME stride-2 convs with asymmetric pads, 1x1
# shortcuts, residual adds with fused ReLU, tensors that feed two consumers.
run "init resnet8" "$bin" init --arch resnet8 --classes 4 --input 32x32x3 --seed 3 -o r8.safetensors
run "quantize resnet8" "$bin" quantize --model r8.safetensors -o r8_q.safetensors
export_and_check resnet8 r8_q.safetensors

# 3. A model of every other layer kind, written by hand in the model format and trained by
# the CLI: non-square kernel and strides, fused ReLU6, average pooling with SAME pads,
# depthwise conv, max pooling, an unfused ReLU, flatten of a 3x7x12 NHWC map (ONNX sees
# NCHW), two dense heads joined by an add. Integer average pooling rounds differently in
# ORT (as in our own fakequant engine), so its int8 bound is 99%.
/usr/bin/python3 - zoo0.safetensors <<'PY'
import json, random, struct, sys
random.seed(7)
nodes, tensors = [], []
def node(name, type_, inputs, config=None, params=()):
    nodes.append({"name": name, "type": type_, "inputs": inputs, "config": config or {}})
    for pname, shape, fan_in, init in params:
        n = 1
        for d in shape: n *= d
        vals = [random.gauss(0, (2.0 / fan_in) ** 0.5) for _ in range(n)] if init == "he" else [init] * n
        tensors.append((name + "." + pname, shape, vals))
def conv(name, inp, cin, f, k, s, pad, bias=True):
    node(name, "conv2d", [inp], {"in_channels": cin, "filters": f, "kernel": k, "strides": s, "padding": pad,
                                 "use_bias": bias},
         [("weight", [f, k[0], k[1], cin], k[0] * k[1] * cin, "he")] + ([("bias", [f], 0, 0.0)] if bias else []))
def bn(name, inp, c):
    node(name, "batch_norm", [inp], {"channels": c, "epsilon": 0.0010000000474974513},
         [("gamma", [c], 0, 1.0), ("beta", [c], 0, 0.0), ("running_mean", [c], 0, 0.0), ("running_var", [c], 0, 1.0)])
def dense(name, inp, i, o):
    node(name, "dense", [inp], {"in_features": i, "units": o, "use_bias": True},
         [("weight", [o, i], i, "he"), ("bias", [o], 0, 0.0)])
conv("conv_a", "input", 3, 8, [3, 2], [2, 1], "same")              # 16x16 -> 8x16
node("relu6_a", "relu6", ["conv_a"])                                # fused into conv_a
node("avg_a", "avg_pool2d", ["relu6_a"], {"pool": [3, 3], "strides": [1, 1], "padding": "same"})
node("dw_b", "depthwise_conv2d", ["avg_a"], {"channels": 8, "kernel": [3, 3], "strides": [1, 1], "padding": "valid",
                                             "use_bias": False}, [("weight", [1, 3, 3, 8], 9, "he")])  # -> 6x14
bn("bn_b", "dw_b", 8)
node("relu_b", "relu", ["bn_b"])
node("max_b", "max_pool2d", ["relu_b"], {"pool": [3, 3], "strides": [2, 2], "padding": "same"})  # -> 3x7
conv("conv_c", "max_b", 8, 12, [1, 1], [1, 1], "valid", bias=False)
bn("bn_c", "conv_c", 12)
node("max_c", "max_pool2d", ["bn_c"], {"pool": [1, 1], "strides": [1, 1], "padding": "valid"})
node("relu_c", "relu", ["max_c"])                                   # not fused: a pool produces it
node("flat", "flatten", ["relu_c"])                                 # 3x7x12 = 252
dense("fc_a", "flat", 252, 16)
dense("fc_b", "flat", 252, 16)
node("sum", "add", ["fc_a", "fc_b"])
node("sum_relu", "relu", ["sum"])                                   # fused into the add
dense("logits", "sum_relu", 16, 4)
graph = {"format": "slingshot-model", "version": 1, "input_shape": [16, 16, 3], "output": "logits", "nodes": nodes}
header, data = {"__metadata__": {"slingshot": json.dumps(graph)}}, b""
for name, shape, vals in tensors:
    b = struct.pack("<%df" % len(vals), *vals)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(b)]}
    data += b
h = json.dumps(header).encode()
h += b" " * ((8 - (8 + len(h)) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
run "train zoo" "$bin" train --model zoo0.safetensors --epochs 6 --seed 1 -o zoo.safetensors
run "quantize zoo" "$bin" quantize --model zoo.safetensors -o zoo_q.safetensors
export_and_check zoo zoo_q.safetensors --min-agreement 0.99
run "zoo float file: export" "$bin" export-onnx --model zoo.safetensors -o zoo_bn.onnx --check-inputs 600 \
    --check-out zoo_bn.json
run "zoo float file: onnxruntime" node "$check" --check zoo_bn.json --float zoo_bn.onnx --label zoo_bn

# 4. An imported TFLite model: the MLPerf ResNet-8 (full int8), whose input mapping from
# our [0, 1] pixels to the file's 0..255 is an affine node (Mul + Add in ONNX).
mlperf="$repo/../shared/mlperf-tiny"
if [ -f "$mlperf/pretrainedResnet_quant.tflite" ]; then
  # Its coarse logit grid (0.17 per step) and TFLite's fixed-point requantization, which
  # ORT's float QDQ kernels do not follow, leave int8 ORT at 92% top-1 agreement with
  # int8-ref on housenum and 94% on shapes, against 98% with our own float QDQ engine
  # (fakequant), whose semantics ONNX QDQ shares: compare with that.
  export_and_check mlperf_resnet8 "$mlperf/pretrainedResnet_quant.tflite" --int8-against fakequant \
    --min-agreement 0.95
else
  echo "skip mlperf_resnet8: $mlperf/pretrainedResnet_quant.tflite is absent"
fi

# 5. Errors: one clear line, exit status 1.
expect_error "--int8 needs a quantized model" 'run `slingshot quantize' \
    "$bin" export-onnx --model tiny.safetensors --int8 -o x.onnx
expect_error "--check-inputs needs --check-out" "--check-inputs and --check-out go together" \
    "$bin" export-onnx --model tiny_q.safetensors -o x.onnx --check-inputs 10
expect_error "unwritable output" "x.onnx" "$bin" export-onnx --model tiny_q.safetensors -o /nonexistent-dir/x.onnx
test ! -e x.onnx && { passes=$((passes + 1)); echo "ok   failed exports write nothing"; } || \
    { fails=$((fails + 1)); echo "FAIL a failed export left x.onnx"; }

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
