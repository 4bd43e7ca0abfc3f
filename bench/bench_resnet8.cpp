// ResNet-8 float benchmark: forward latency at batch 1, forward+backward throughput at
// batch 100, and training-step throughput at batch 64, on the SIMD and reference kernel
// paths. Prints one JSON object; never asserts on time. Runs natively and as wasm (node).
//
//   bench_resnet8 [--quick] [--runs-scale X] [--no-ref] [--export FILE] [--disable-avx512]
//                 [--threads N] [--train-only]
//
// --export FILE writes the initial weights, a seeded input batch and our logits as JSON,
// for bench/peer_pytorch_resnet8.py to load the same weights and cross-check the logits.
// --threads N runs the float kernels on N threads (set_num_threads; default 1); the
// *_cpu_ms fields are then process CPU time (all threads). --train-only measures just the
// batch-64 training step (bench/run_resnet8.sh repeats it at 1 and 2 threads).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thread_clock.h"

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/simd/gemm_f32__simd.h"
#include "model/builders.h"
#include "model/graph.h"
#include "model/loss.h"

#ifndef __EMSCRIPTEN__
#include <hwy/targets.h>
#endif

using namespace slingshot;
using slingshot::bench::compiler;
using slingshot::bench::cpu_ms;
using slingshot::bench::median;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kWeightSeed = 1;
constexpr uint64_t kDataSeed = 2;
constexpr int kClasses = 10;

struct Options {
  double runs_scale = 1.0;
  bool ref = true;
  std::string export_path;
  int threads = 1;
  bool train_only = false;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_resnet8: %s\n", msg.c_str());
  std::exit(1);
}

void check(const Status& st) {
  if (!st.ok()) die(st.message());
}

Graph make_model() {
  auto g = build_resnet8(kClasses);
  if (!g.ok()) die(g.status().message());
  init_params(*g, kWeightSeed);
  return std::move(*g);
}

Tensor random_images(int batch, uint64_t seed) {
  Tensor x({batch, 32, 32, 3});
  Rng rng(seed);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform();
  return x;
}

std::vector<int> random_labels(int batch, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> y(batch);
  for (int& v : y) v = static_cast<int>(rng.below(kClasses));
  return y;
}



// Median wall time of fn() in milliseconds over `runs` runs after `warmup` untimed ones.
// Also records the median CPU time in *cpu: on a machine shared with other jobs the wall
// time includes time we were descheduled, the CPU time does not.
template <class Fn>
double median_ms(int runs, int warmup, Fn&& fn, double* cpu = nullptr) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms, cms;
  for (int i = 0; i < runs; ++i) {
    const double c0 = cpu_ms();
    const auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    cms.push_back(cpu_ms() - c0);
  }
  if (cpu) *cpu = median(cms);
  return median(ms);
}

int scaled(double base, const Options& o) { return std::max(1, static_cast<int>(std::lround(base * o.runs_scale))); }

nlohmann::json measure(KernelPath path, const Options& o) {
  const bool simd = path == KernelPath::kSimd;
  nlohmann::json r;

  if (!o.train_only) {  // Forward latency, batch 1, inference mode.
    const Graph g = make_model();
    Workspace<float> ws;
    const Tensor x = random_images(1, kDataSeed);
    r["forward_latency_b1_ms"] = median_ms(scaled(simd ? 200 : 20, o), 5, [&] { check(g.forward(x, ws, Mode::kInference, path)); });
  }
  if (!o.train_only) {  // Forward + backward, batch 100, inference mode, parameter gradients on.
    const Graph g = make_model();
    Workspace<float> ws;
    const Tensor x = random_images(100, kDataSeed + 1);
    const std::vector<int> y = random_labels(100, kDataSeed + 1);
    Tensor grad;
    double cpu = 0;
    const double ms = median_ms(scaled(simd ? 15 : 3, o), simd ? 2 : 1, [&] {
      check(g.forward(x, ws, Mode::kInference, path));
      check(softmax_cross_entropy<float>(ws.output(), y, &grad).status());
      check(g.backward(grad, ws, /*param_grads=*/true, path));
    }, &cpu);
    r["fwd_bwd_b100_ms"] = ms;
#ifndef __EMSCRIPTEN__
    r["fwd_bwd_b100_cpu_ms"] = cpu;
#endif
    r["fwd_bwd_b100_images_per_s"] = 100e3 / ms;
  }
  {  // Training step, batch 64: train-mode forward, backward, plain SGD, running statistics.
    Graph g = make_model();
    Workspace<float> ws;
    const Tensor x = random_images(64, kDataSeed + 2);
    const std::vector<int> y = random_labels(64, kDataSeed + 2);
    Tensor grad;
    const float lr = 0.01f;
    double cpu = 0;
    const double ms = median_ms(scaled(simd ? 20 : 3, o), simd ? 2 : 1, [&] {
      check(g.forward(x, ws, Mode::kTrain, path));
      check(softmax_cross_entropy<float>(ws.output(), y, &grad).status());
      check(g.backward(grad, ws, /*param_grads=*/true, path));
      for (int i = 1; i < g.num_nodes(); ++i) {
        auto& params = g.node(i).layer->params();
        for (size_t k = 0; k < params.size(); ++k) {
          if (!params[k].trainable) continue;
          float* w = params[k].value.data();
          const float* gw = ws.param_grads[i][k].data();
          for (int64_t e = 0; e < params[k].value.numel(); ++e) w[e] -= lr * gw[e];
        }
      }
      g.update_running_stats(ws, 0.9f);
    }, &cpu);
    r["train_step_b64_ms"] = ms;
#ifndef __EMSCRIPTEN__
    r["train_step_b64_cpu_ms"] = cpu;
#endif
    r["train_step_b64_images_per_s"] = 64e3 / ms;
  }
  return r;
}

// Logits of the exported input batch on both kernel paths, and the export file.
nlohmann::json correctness(const Options& o) {
  const Graph g = make_model();
  const Tensor x = random_images(4, kDataSeed + 3);
  Workspace<float> ws_simd, ws_ref;
  check(g.forward(x, ws_simd, Mode::kInference, KernelPath::kSimd));
  check(g.forward(x, ws_ref, Mode::kInference, KernelPath::kRef));
  const Tensor& logits = ws_simd.output();
  double diff = 0, mag = 0;
  for (int64_t i = 0; i < logits.numel(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(logits[i]) - ws_ref.output()[i]));
    mag = std::max(mag, std::fabs(static_cast<double>(ws_ref.output()[i])));
  }
  nlohmann::json r;
  r["max_abs_logit_diff_simd_vs_ref"] = diff;
  r["max_abs_logit"] = mag;
  if (!o.export_path.empty()) {
    nlohmann::json e;
    e["model"] = "resnet8";
    e["weight_seed"] = kWeightSeed;
    e["layout"] = "conv weights OHWI, dense [out, in], input NHWC";
    nlohmann::json params = nlohmann::json::array();
    for (int i = 1; i < g.num_nodes(); ++i)
      for (const Param& p : g.node(i).layer->params())
        params.push_back({{"node", g.node(i).name}, {"param", p.name}, {"shape", p.value.shape()},
                          {"values", p.value.storage()}});
    e["params"] = params;
    e["input_shape"] = x.shape();
    e["input"] = x.storage();
    e["logits_shape"] = logits.shape();
    e["logits"] = logits.storage();
    std::ofstream f(o.export_path);
    f << e.dump();
    if (!f) die("cannot write " + o.export_path);
    r["exported"] = o.export_path;
  }
  return r;
}


}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.runs_scale = 0.2;
    } else if (a == "--runs-scale" && i + 1 < argc) {
      o.runs_scale = std::atof(argv[++i]);
    } else if (a == "--no-ref") {
      o.ref = false;
    } else if (a == "--export" && i + 1 < argc) {
      o.export_path = argv[++i];
    } else if (a == "--threads" && i + 1 < argc) {
      o.threads = std::atoi(argv[++i]);
      if (o.threads < 1 || o.threads > kMaxThreads) die("--threads must be in [1, " + std::to_string(kMaxThreads) + "]");
    } else if (a == "--train-only") {
      o.train_only = true;
    } else if (a == "--disable-avx512") {
#ifndef __EMSCRIPTEN__
      hwy::DisableTargets(HWY_AVX3 | HWY_AVX3_DL);
#endif
    } else {
      die("unknown argument '" + a + "' (see the header of bench/bench_resnet8.cpp)");
    }
  }

  set_num_threads(o.threads);
  nlohmann::json out;
  out["benchmark"] = "resnet8_float";
#ifdef __EMSCRIPTEN__
  out["platform"] = "wasm";
#else
  out["platform"] = "native";
#endif
  out["highway_target"] = simd_internal::simd_f32_target_name();
  out["compiler"] = compiler();
  out["threads"] = num_threads();
  {
    const Graph g = make_model();
    out["params"] = g.num_params();
    out["macs_per_image"] = g.macs();
  }
  if (!o.train_only) out["correctness"] = correctness(o);
  out["simd"] = measure(KernelPath::kSimd, o);
  if (o.ref && !o.train_only) {
    out["ref"] = measure(KernelPath::kRef, o);
    out["simd_over_ref_fwd_bwd"] = out["simd"]["fwd_bwd_b100_images_per_s"].get<double>() /
                                   out["ref"]["fwd_bwd_b100_images_per_s"].get<double>();
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
