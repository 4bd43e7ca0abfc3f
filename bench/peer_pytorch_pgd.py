#!/usr/bin/env python3
"""PyTorch peer for bench_attacks' pgd-float section: the same PGD on the same float network.

  bench_attacks --export DIR ...        # the folded float graph, the images, our logits
  peer_pytorch_pgd.py --export DIR [--threads N] [--runs N]

Rebuilds the BN-folded float graph of graph.json (conv2d with TFLite SAME padding, as
peer_pytorch_resnet8.py does; dense; relu/relu6; add; global average pool; flatten) in
PyTorch's NCHW layout from the exported .npy parameters, checks its logits on the exported
images against ours (max |difference|), then times PGD Linf as bench_attacks does: eps
8/255, step 2/255, 20 iterations, the whole batch, no random start, cross-entropy loss,
x <- clip(proj_eps(x + step * sign(grad)), 0, 1). Parameters have requires_grad off and
the gradient is torch.autograd.grad with respect to the input only (no weight gradients),
the fastest way to write PGD in PyTorch. It is timed in PyTorch's default NCHW memory
format ("pgd") and in channels_last ("pgd_channels_last", faster with oneDNN here),
alternating run by run: one warm-up run each, then --runs timed runs, wall time and
process CPU time per run, best and median. Prints one JSON object.

Threads: this Debian build's libtorch_python calls omp_set_num_threads(1) when torch is
imported, so torch.get_num_threads() starts at 1 unless OMP_NUM_THREADS is set;
torch.set_num_threads(N) raises it (see peer_pytorch_resnet8.py). The JSON records
torch.get_num_threads() and omp_get_max_threads() after the setting.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F


def same_pad_amounts(n, k, stride):
    """TFLite SAME padding of one axis: (before, after), the extra one after."""
    out = (n + stride - 1) // stride
    total = max((out - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


class FoldedGraph(torch.nn.Module):
    """The exported graph, run node by node in NCHW."""

    def __init__(self, spec, directory):
        super().__init__()
        self.spec = spec
        self.directory = directory
        self.input_name = spec["input_name"]
        self.output = spec["output"]
        self.nodes = []
        shapes = {self.input_name: list(spec["input_shape"])}  # per-sample HWC or [features]
        for i, n in enumerate(spec["nodes"]):
            t, cfg = n["type"], n["config"]
            params = {k: torch.from_numpy(np.load(os.path.join(directory, f))).float() for k, f in n["params"].items()}
            for k, v in params.items():
                v.requires_grad_(False)
                self.register_buffer(f"p{i}_{k}", v)
            op = {"name": n["name"], "type": t, "inputs": n["inputs"]}
            src = shapes[n["inputs"][0]]
            if t == "conv2d":
                kh, kw = cfg["kernel"]
                sh, sw = cfg["strides"]
                op["weight"] = params["weight"].permute(0, 3, 1, 2).contiguous()  # OHWI -> OIHW
                op["bias"] = params.get("bias")
                op["stride"] = (sh, sw)
                if cfg["padding"] == "same":
                    top, bottom = same_pad_amounts(src[0], kh, sh)
                    left, right = same_pad_amounts(src[1], kw, sw)
                else:
                    top = bottom = left = right = 0
                if top == bottom and left == right:
                    op["conv_pad"], op["pad"] = (top, left), None  # symmetric: the conv pads itself
                else:
                    op["conv_pad"], op["pad"] = (0, 0), (left, right, top, bottom)
                oh = (src[0] + top + bottom - kh) // sh + 1
                ow = (src[1] + left + right - kw) // sw + 1
                shapes[n["name"]] = [oh, ow, cfg["filters"]]
            elif t == "dense":
                op["weight"], op["bias"] = params["weight"], params.get("bias")
                shapes[n["name"]] = [cfg["units"]]
            elif t in ("relu", "relu6", "add"):
                shapes[n["name"]] = src
            elif t == "global_avg_pool":
                shapes[n["name"]] = [src[-1]]
            elif t == "flatten":
                shapes[n["name"]] = [int(np.prod(src))]
            else:
                raise SystemExit(f"peer_pytorch_pgd: layer type '{t}' is not supported here")
            self.nodes.append(op)

    def to_channels_last(self):
        for op in self.nodes:
            if op["type"] == "conv2d":
                op["weight"] = op["weight"].contiguous(memory_format=torch.channels_last)
        return self

    def forward(self, x):
        v = {self.input_name: x}
        for op in self.nodes:
            a = v[op["inputs"][0]]
            t = op["type"]
            if t == "conv2d":
                if op["pad"] is not None:
                    a = F.pad(a, op["pad"])
                y = F.conv2d(a, op["weight"], op["bias"], op["stride"], op["conv_pad"])
            elif t == "dense":
                y = F.linear(a, op["weight"], op["bias"])
            elif t == "relu":
                y = F.relu(a)
            elif t == "relu6":
                y = F.relu6(a)
            elif t == "add":
                y = a + v[op["inputs"][1]]
            elif t == "global_avg_pool":
                y = a.mean(dim=(2, 3))
            elif t == "flatten":
                y = a.permute(0, 2, 3, 1).reshape(a.shape[0], -1) if a.dim() == 4 else a  # our NHWC order
            v[op["name"]] = y
        return v[self.output]


def pgd(model, x0, y, eps, step, iters):
    """PGD Linf from the clean input, as bench_attacks runs it (float engine, no snapping)."""
    lo, hi = x0 - eps, x0 + eps
    x = x0.clone()
    for _ in range(iters):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(x), y)
        (g,) = torch.autograd.grad(loss, x)
        x = x.detach() + step * g.sign()
        x = torch.min(torch.max(x, lo), hi).clamp_(0.0, 1.0)
    return x.detach()


def first_step_check(model, x0, y, step, ours_adv, torch_adv):
    """After one iteration, x_adv - x0 is step * sign(gradient) wherever the step stays inside
    [0, 1]. Counts, for ours and for PyTorch's float32 run, the values whose step disagrees
    with the sign of the gradient computed in float64 on the same graph."""
    m64 = FoldedGraph(model.spec, model.directory).double()
    for op in m64.nodes:
        for k in ("weight", "bias"):
            if op.get(k) is not None:
                op[k] = op[k].double()
    x = x0.double().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(m64(x), y), x)
    inside = ((x0 - step) >= 0) & ((x0 + step) <= 1)
    sign = g.sign()
    def count(adv):
        s = torch.round((adv.double() - x0.double()) / step)
        return int(((s != sign) & inside).sum())
    with torch.no_grad():
        p = torch.softmax(m64(x0.double()), 1)[torch.arange(len(y)), y]
    return {"values_checked": int(inside.sum()), "ours_disagreeing": count(ours_adv),
            "pytorch_disagreeing": count(torch_adv),
            "note": "PyTorch's float32 cross-entropy gradient (softmax - one-hot) loses the direction of "
                    "samples classified with 1 - p_y near float32 epsilon",
            "min_1_minus_p_true_class": float((1 - p).min())}


def omp_max_threads():
    for line in torch.__config__.parallel_info().splitlines():
        if "omp_get_max_threads()" in line:
            return int(line.split(":")[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--export", required=True, help="directory written by bench_attacks --export")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--runs", type=int, default=3, help="timed PGD runs after one warm-up run")
    ap.add_argument("--layouts", default="nchw,channels_last",
                    help="memory formats to time, alternating run by run (nchw, channels_last)")
    args = ap.parse_args()

    default_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    d = args.export
    spec = json.load(open(os.path.join(d, "graph.json")))
    model = FoldedGraph(spec, d).eval()
    x0 = torch.from_numpy(np.load(os.path.join(d, spec["images"]))).float().permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(spec["labels"], dtype=torch.long)
    ours_logits = torch.from_numpy(np.load(os.path.join(d, spec["logits"]))).float()
    eps, step, iters = spec["pgd"]["eps"], spec["pgd"]["eps_step"], spec["pgd"]["max_iter"]
    # float32 like ours: 8/255 and 2/255 as the C++ floats.
    eps, step = float(np.float32(eps)), float(np.float32(step))

    out = {"peer": "pytorch", "torch_version": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
           "threads": args.threads, "default_threads_at_import": default_threads,
           "torch_get_num_threads": torch.get_num_threads(), "omp_max_threads": omp_max_threads(),
           "images": int(x0.shape[0])}
    with torch.no_grad():
        logits = model(x0)
    out["max_abs_logit_diff_vs_ours"] = float((logits - ours_logits).abs().max())
    out["max_abs_logit"] = float(ours_logits.abs().max())
    out["clean_accuracy"] = float((logits.argmax(1) == y).float().mean())

    n = int(x0.shape[0])
    params = {"norm": "inf", "eps": "8/255", "eps_step": "2/255", "max_iter": iters, "num_random_init": 0,
              "loss": "ce", "pixel_valid": False}
    # Both memory formats, alternating run by run: PyTorch's default NCHW and channels_last
    # (NHWC in memory, often faster for oneDNN convolutions on CPU).
    layouts = [l for l in args.layouts.split(",") if l]
    inputs = {"nchw": x0, "channels_last": x0.contiguous(memory_format=torch.channels_last)}
    models = {"nchw": model, "channels_last": FoldedGraph(spec, d).eval().to_channels_last()}
    ms = {l: [] for l in layouts}
    cpu = {l: [] for l in layouts}
    adv = {}
    for r in range(args.runs + 1):  # run 0 is the warm-up
        for l in layouts:
            c0 = time.process_time()
            t0 = time.perf_counter()
            adv[l] = pgd(models[l], inputs[l], y, eps, step, iters)
            t, c = (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3
            if r > 0:
                ms[l].append(t)
                cpu[l].append(c)
    ours_adv = os.path.join(d, "x_adv_ours.npy")
    a = torch.from_numpy(np.load(ours_adv)).float().permute(0, 3, 1, 2) if os.path.exists(ours_adv) else None
    for l in layouts:
        x_adv = adv[l].contiguous()
        best, med = min(ms[l]), statistics.median(ms[l])
        with torch.no_grad():
            adv_logits = model(x_adv)
        res = {
            "layout": l, "params": params,
            "runs_ms": ms[l], "best_ms": best, "median_ms": med,
            "best_images_per_s": n * 1e3 / best, "median_images_per_s": n * 1e3 / med,
            "median_process_cpu_ms": statistics.median(cpu[l]),
            "robust_accuracy": float((adv_logits.argmax(1) == y).float().mean()),
            "max_linf": float((x_adv - x0).abs().max()),
        }
        if a is not None:
            # Where a gradient component is ~0 the two sign steps may differ: count the values apart.
            diff = (a - x_adv).abs()
            res["x_adv_vs_ours"] = {"max_abs_diff": float(diff.max()),
                                    "share_values_differing_by_1e-5": float((diff > 1e-5).float().mean())}
            if iters == 1:
                res["first_step_signs_vs_float64"] = first_step_check(model, x0, y, step, a, x_adv)
        out["pgd" if l == "nchw" else "pgd_" + l] = res
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
