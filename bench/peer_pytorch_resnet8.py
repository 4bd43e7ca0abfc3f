#!/usr/bin/env python3
"""PyTorch peer for bench_resnet8: the same MLPerf Tiny ResNet-8 (TFLite SAME padding,
batch norm eps 1e-3, 1x1 stride-2 shortcuts with bias) timed on the same three figures.

  forward latency, batch 1, eval mode            -> median ms
  forward+backward, batch 100, eval mode, loss = cross entropy, parameter grads on -> images/s
  training step, batch 64: train-mode forward + backward + plain SGD update       -> images/s

With --weights FILE (written by `bench_resnet8 --export FILE`) it loads the C++ bench's
initial weights and input batch and reports max |logit difference| against the C++ logits.
Prints one JSON object. CPU only; --threads sets torch.set_num_threads (default 1, like ours).
--train-only measures just the training step (bench/run_resnet8.sh, 1 and 2 threads).

Threads: this Debian build's libtorch_python calls omp_set_num_threads(1) when torch is
imported (seen in gdb: initModule -> omp_set_num_threads(1)), so torch.get_num_threads()
starts at 1 on any machine unless OMP_NUM_THREADS is set; torch.set_num_threads(N) does
raise it (ATen's OpenMP backend, which oneDNN's conv primitives also use). The JSON
records omp_max_threads after the setting and, for the training step, the process CPU
time per step: CPU / wall near N shows the N threads really computed.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def same_pad(x, k, stride):
    """TFLite SAME padding (extra row/column at the bottom/right), as our kernels do."""
    _, _, h, w = x.shape
    def amount(n):
        out = (n + stride - 1) // stride
        total = max((out - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    top, bottom = amount(h)
    left, right = amount(w)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))


class ConvSame(nn.Conv2d):
    def __init__(self, cin, cout, k, stride, bias):
        super().__init__(cin, cout, k, stride=stride, padding=0, bias=bias)

    def forward(self, x):
        k, s = self.kernel_size[0], self.stride[0]
        # Symmetric SAME padding is the common case (stride 1, odd k): let the conv pad itself.
        if s == 1 and k % 2 == 1:
            return F.conv2d(x, self.weight, self.bias, 1, k // 2)
        return super().forward(same_pad(x, k, s))


class ResNet8(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        bn = lambda c: nn.BatchNorm2d(c, eps=1e-3)
        self.conv0, self.bn0 = ConvSame(3, 16, 3, 1, False), bn(16)
        self.stacks = nn.ModuleList()
        cin = 16
        for s, width in enumerate([16, 32, 64]):
            stride = 1 if s == 0 else 2
            m = nn.Module()
            m.conv1, m.bn1 = ConvSame(cin, width, 3, stride, False), bn(width)
            m.conv2, m.bn2 = ConvSame(width, width, 3, 1, False), bn(width)
            m.shortcut = ConvSame(cin, width, 1, stride, True) if stride != 1 else None
            self.stacks.append(m)
            cin = width
        self.logits = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn0(self.conv0(x)))
        for m in self.stacks:
            y = F.relu(m.bn1(m.conv1(x)))
            y = m.bn2(m.conv2(y))
            x = F.relu(y + (m.shortcut(x) if m.shortcut is not None else x))
        return self.logits(x.mean(dim=(2, 3)))


def load_weights(model, path):
    """Copies the C++ graph's parameters (OHWI conv, [out, in] dense) into the model."""
    with open(path) as f:
        blob = json.load(f)
    names = {"conv0": model.conv0, "bn0": model.bn0, "logits": model.logits}
    for s, m in enumerate(model.stacks):
        p = f"stack{s + 1}_"
        names.update({p + "conv1": m.conv1, p + "bn1": m.bn1, p + "conv2": m.conv2, p + "bn2": m.bn2})
        if m.shortcut is not None:
            names[p + "shortcut"] = m.shortcut
    torch_name = {"gamma": "weight", "beta": "bias", "running_mean": "running_mean",
                  "running_var": "running_var", "weight": "weight", "bias": "bias"}
    loaded = 0
    with torch.no_grad():
        for p in blob["params"]:
            module = names[p["node"]]
            t = torch.tensor(p["values"], dtype=torch.float32).reshape(p["shape"])
            if isinstance(module, nn.Conv2d) and p["param"] == "weight":
                t = t.permute(0, 3, 1, 2)  # OHWI -> OIHW
            getattr(module, torch_name[p["param"]]).copy_(t)
            loaded += t.numel()
    x = torch.tensor(blob["input"], dtype=torch.float32).reshape(blob["input_shape"]).permute(0, 3, 1, 2)
    ref = torch.tensor(blob["logits"], dtype=torch.float32).reshape(blob["logits_shape"])
    return loaded, x.contiguous(), ref


def median_ms(fn, runs, warmup, cpu=None, clock=time.thread_time):
    """Median wall ms; with a dict `cpu`, also the median CPU ms of `clock` in cpu["ms"]
    (this thread's by default, meaningful at 1 thread; time.process_time for all threads)."""
    for _ in range(warmup):
        fn()
    times, cpu_times = [], []
    for _ in range(runs):
        c0 = clock()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu_times.append((clock() - c0) * 1e3)
    if cpu is not None:
        cpu["ms"] = statistics.median(cpu_times)
    return statistics.median(times)


def train_step(model, runs, x64, y64):
    """Training step, batch 64: wall ms and process CPU ms (all threads) per step."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x64), y64).backward()
        opt.step()
    cpu = {}
    tr = median_ms(step, runs["train"], 5, cpu, time.process_time)
    return {"train_step_b64_ms": tr, "train_step_b64_images_per_s": 64e3 / tr,
            "train_step_b64_process_cpu_ms": cpu["ms"]}


def measure(model, runs, train_only=False):
    torch.manual_seed(1)
    x1 = torch.rand(1, 3, 32, 32)
    x100 = torch.rand(100, 3, 32, 32)
    y100 = torch.randint(0, 10, (100,))
    x64 = torch.rand(64, 3, 32, 32)
    y64 = torch.randint(0, 10, (64,))
    if train_only:
        return train_step(model, runs, x64, y64)

    model.eval()
    def fwd():
        with torch.no_grad():
            model(x1)
    lat = median_ms(fwd, runs["fwd"], 20)

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x100), y100).backward()
    cpu = {}
    # oneDNN creates and caches its primitives during the first passes: warm up generously.
    fb = median_ms(fwd_bwd, runs["fwd_bwd"], 5, cpu)

    out = {"forward_latency_b1_ms": lat, "fwd_bwd_b100_ms": fb, "fwd_bwd_b100_images_per_s": 100e3 / fb,
           **train_step(model, runs, x64, y64)}
    if torch.get_num_threads() == 1:
        out["fwd_bwd_b100_cpu_ms"] = cpu["ms"]
    return out


def omp_max_threads():
    """omp_get_max_threads() as ATen's parallel_info reports it, or None."""
    for line in torch.__config__.parallel_info().splitlines():
        if "omp_get_max_threads()" in line:
            return int(line.split(":")[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="JSON written by bench_resnet8 --export")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1, like bench_resnet8)")
    ap.add_argument("--runs", type=float, default=1.0, help="multiplier on the number of timed runs")
    ap.add_argument("--no-default-threads", action="store_true", help="skip the extra run at torch's default threads")
    ap.add_argument("--train-only", action="store_true", help="only the batch-64 training step")
    args = ap.parse_args()

    default_threads = torch.get_num_threads()
    torch.manual_seed(0)
    model = ResNet8()
    out = {"peer": "pytorch", "torch_version": torch.__version__,
           "mkldnn": torch.backends.mkldnn.is_available(),
           "params": sum(p.numel() for p in model.parameters())}
    if args.weights:
        loaded, x, ref = load_weights(model, args.weights)
        model.eval()
        with torch.no_grad():
            logits = model(x)
        out["weights"] = args.weights
        out["weights_loaded"] = loaded
        out["max_abs_logit_diff_vs_cpp"] = float((logits - ref).abs().max())
        out["max_abs_logit"] = float(ref.abs().max())
    state = {k: v.clone() for k, v in model.state_dict().items()}

    runs = {k: max(1, round(v * args.runs)) for k, v in {"fwd": 200, "fwd_bwd": 15, "train": 20}.items()}
    torch.set_num_threads(args.threads)
    out["threads"] = args.threads
    out["torch_get_num_threads"] = torch.get_num_threads()
    out["omp_max_threads"] = omp_max_threads()
    out.update(measure(model, runs, args.train_only))
    if not args.no_default_threads and not args.train_only:
        model.load_state_dict(state)
        torch.set_num_threads(default_threads)
        out["default_threads"] = {"threads": default_threads, **measure(model, runs)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
