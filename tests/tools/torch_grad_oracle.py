#!/usr/bin/python3
"""Independent oracle for `slingshot grad`: rebuilds a Slingshot model file in PyTorch
(Debian python3-torch) straight from its safetensors bytes, then compares logits, loss
and the input gradient dL/dx with what the slingshot CLI prints.

Usage: torch_grad_oracle.py SLINGSHOT_BINARY MODEL.safetensors INPUT.npy LABEL
Exit status 0 when they agree to float32 precision, 1 otherwise (with the numbers).
"""
import json
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_model(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    graph = json.loads(header["__metadata__"]["slingshot"])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"]).copy())
    return graph, tensors


def same_pad(size, k, s):
    """TFLite SAME padding (before, after) along one axis."""
    out = (size + s - 1) // s
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def pad_nchw(x, kh, kw, sh, sw, padding, value=0.0):
    if padding != "same":
        return x
    top, bottom = same_pad(x.shape[2], kh, sh)
    left, right = same_pad(x.shape[3], kw, sw)
    return F.pad(x, (left, right, top, bottom), value=value)


def run(graph, t, x_nhwc):
    """Runs the graph in NCHW internally; returns logits [N, K]."""
    values = {"input": x_nhwc.permute(0, 3, 1, 2) if x_nhwc.dim() == 4 else x_nhwc}
    for node in graph["nodes"]:
        name, kind, cfg = node["name"], node["type"], node.get("config", {})
        ins = [values[i] for i in node["inputs"]]
        x = ins[0]
        if kind in ("conv2d", "depthwise_conv2d"):
            w = t[name + ".weight"]  # OHWI, or [1, kh, kw, C] for depthwise
            kh, kw = cfg["kernel"]
            sh, sw = cfg["strides"]
            if kind == "conv2d":
                w = w.permute(0, 3, 1, 2)
                groups = 1
            else:
                w = w.permute(3, 0, 1, 2)
                groups = w.shape[0]
            b = t.get(name + ".bias")
            y = F.conv2d(pad_nchw(x, kh, kw, sh, sw, cfg["padding"]), w, b, stride=(sh, sw), groups=groups)
        elif kind == "dense":
            y = F.linear(x, t[name + ".weight"], t.get(name + ".bias"))
        elif kind == "batch_norm":
            y = F.batch_norm(x, t[name + ".running_mean"], t[name + ".running_var"], t[name + ".gamma"],
                             t[name + ".beta"], training=False, eps=cfg["epsilon"])
        elif kind == "relu":
            y = F.relu(x)
        elif kind == "relu6":
            y = F.relu6(x)
        elif kind in ("max_pool2d", "avg_pool2d"):
            kh, kw = cfg["pool"]
            sh, sw = cfg["strides"]
            if kind == "max_pool2d":
                y = F.max_pool2d(pad_nchw(x, kh, kw, sh, sw, cfg["padding"], float("-inf")), (kh, kw), (sh, sw))
            else:
                # TFLite averages over in-bounds elements only.
                ones = torch.ones_like(x[:, :1])
                s = F.avg_pool2d(pad_nchw(x, kh, kw, sh, sw, cfg["padding"]), (kh, kw), (sh, sw))
                c = F.avg_pool2d(pad_nchw(ones, kh, kw, sh, sw, cfg["padding"]), (kh, kw), (sh, sw))
                y = s / c
        elif kind == "global_avg_pool":
            y = x.mean(dim=(2, 3))
        elif kind == "add":
            y = ins[0] + ins[1]
        elif kind == "flatten":
            y = (x.permute(0, 2, 3, 1) if x.dim() == 4 else x).reshape(x.shape[0], -1)
        elif kind == "softmax":
            y = F.softmax(x, dim=1)
        else:
            raise SystemExit(f"oracle does not know layer type {kind}")
        values[name] = y
    return values[graph["output"]]


def main():
    binary, model, input_path, label = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    graph, tensors = read_model(model)
    tensors = {k: v.double() for k, v in tensors.items()}
    x = torch.from_numpy(np.load(input_path).astype(np.float64))
    if x.dim() == 3:
        x = x.unsqueeze(0)
    x.requires_grad_(True)
    logits = run(graph, tensors, x)
    loss = F.cross_entropy(logits, torch.tensor([label]))
    loss.backward()
    ref_grad = x.grad.numpy().reshape(-1)

    out = subprocess.run([binary, "grad", "--model", model, "--input", input_path, "--label", str(label), "--json"],
                         capture_output=True, text=True, check=True)
    ours = json.loads(out.stdout)
    our_logits = np.array(ours["logits"])
    our_grad = np.array(ours["grad"])
    ref_logits = logits.detach().numpy().reshape(-1)
    logit_err = np.abs(our_logits - ref_logits).max() / max(1.0, np.abs(ref_logits).max())
    loss_err = abs(ours["loss"] - loss.item()) / max(1.0, abs(loss.item()))
    grad_err = np.linalg.norm(our_grad - ref_grad) / max(np.linalg.norm(ref_grad), 1e-30)
    report = {"model": model, "logit_rel_err": float(logit_err), "loss_rel_err": float(loss_err),
              "grad_rel_l2_err": float(grad_err), "grad_l2": float(np.linalg.norm(ref_grad))}
    print(json.dumps(report))
    # Slingshot computes in float32, the oracle in float64: agreement to ~1e-5 is expected.
    ok = logit_err < 1e-4 and loss_err < 1e-4 and grad_err < 1e-4 and np.linalg.norm(ref_grad) > 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
