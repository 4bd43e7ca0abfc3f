#!/usr/bin/env python3
"""Summarizes bench/run_resnet8.sh's training-throughput runs into one JSON object.

  bench_train_throughput_summary.py TMPDIR REPEATS LOAD_BEFORE LOAD_AFTER

Reads TMPDIR/{ours,torch}_t{1,2}_r{1..REPEATS}.json (bench_resnet8 --train-only and
peer_pytorch_resnet8.py --train-only outputs) and prints, per side and thread count, the
best and median batch-64 training throughput over the repeats, the process CPU time over
wall time (about the thread count when every thread computed), and the ratios, with the
project's goal: ours / PyTorch at 2 threads >= 1.0.
"""
import json
import statistics
import sys


def load_runs(tmp, who, threads, repeats):
    runs = []
    for r in range(1, repeats + 1):
        with open(f"{tmp}/{who}_t{threads}_r{r}.json") as f:
            j = json.load(f)
        runs.append(j["simd"] if who == "ours" else j)
    return runs


def summarize(runs, cpu_key):
    ips = [x["train_step_b64_images_per_s"] for x in runs]
    cpu = [x[cpu_key] / x["train_step_b64_ms"] for x in runs if cpu_key in x]
    return {
        "images_per_s_best": max(ips),
        "images_per_s_median": statistics.median(ips),
        "images_per_s_runs": ips,
        "cpu_over_wall_median": statistics.median(cpu) if cpu else None,
    }


def main():
    tmp, repeats, load_before, load_after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    cpu_keys = {"ours": "train_step_b64_cpu_ms", "torch": "train_step_b64_process_cpu_ms"}
    res = {f"{who}_{t}t": summarize(load_runs(tmp, who, t, repeats), cpu_keys[who])
           for who in ("ours", "torch") for t in (1, 2)}
    with open(f"{tmp}/torch_t2_r1.json") as f:
        torch2 = json.load(f)
    with open(f"{tmp}/ours_t2_r1.json") as f:
        ours2 = json.load(f)
    best = lambda k: res[k]["images_per_s_best"]
    med = lambda k: res[k]["images_per_s_median"]
    out = {
        "benchmark": "resnet8_float_train_throughput",
        "what": "training step, batch 64: train-mode forward, cross entropy, backward, SGD update",
        "ours": {"1_thread": res["ours_1t"], "2_threads": res["ours_2t"],
                 "highway_target": ours2.get("highway_target"), "compiler": ours2.get("compiler")},
        "pytorch": {"1_thread": res["torch_1t"], "2_threads": res["torch_2t"],
                    "torch_version": torch2.get("torch_version"),
                    "torch_get_num_threads_at_2": torch2.get("torch_get_num_threads"),
                    "omp_max_threads_at_2": torch2.get("omp_max_threads")},
        "ratios": {
            # > 1: we train faster than PyTorch.
            "ours_over_pytorch_2t_best": best("ours_2t") / best("torch_2t"),
            "ours_over_pytorch_2t_median": med("ours_2t") / med("torch_2t"),
            "ours_over_pytorch_1t_best": best("ours_1t") / best("torch_1t"),
            # What the second thread buys each side.
            "ours_2t_over_1t_best": best("ours_2t") / best("ours_1t"),
            "pytorch_2t_over_1t_best": best("torch_2t") / best("torch_1t"),
        },
        "goals": {"ours_over_pytorch_2t_best": ">= 1.0"},
        "repeats": repeats,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
