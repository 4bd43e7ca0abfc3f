// Per-layer timing of the Highway conv kernels on the ResNet-8 layer shapes at a training
// batch: milliseconds and GFLOP/s for forward, backward-input and backward-filter. The
// tool for tuning the GEMM and comparing compilers; prints one JSON object. Natively it
// measures thread CPU time, so figures stay meaningful on a machine shared with builds;
// each figure is the minimum over the runs.
//
//   bench_conv_kernels [--batch N] [--runs N] [--ref] [--winograd] [--layer NAME] [--disable-avx512]
//
// --winograd runs forward and backward-input of the layers Winograd supports (3x3 stride 1)
// through conv2d_winograd_f32__simd with filters transformed once (untimed), as attack
// gradients do (Conv2D caches the transforms); GFLOP/s stay those of the
// direct convolution (the same work done faster), so they compare across algorithms.
// --layer times one layer only (for perf record on that layer's kernels).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <ctime>
#include <vector>

#include <nlohmann/json.hpp>

#include "thread_clock.h"

#include "core/rng.h"
#include "kernels/ref/conv2d__ref.h"
#include "kernels/simd/conv2d_f32__simd.h"
#include "kernels/simd/conv2d_winograd_f32__simd.h"
#include "kernels/simd/gemm_f32__simd.h"

#ifndef __EMSCRIPTEN__
#include <hwy/targets.h>
#endif

using namespace slingshot;

namespace {

struct Layer {
  const char* name;
  int h, w, cin, k, stride, cout;
};

// ResNet-8 conv layers (MLPerf Tiny), SAME padding.
const Layer kLayers[] = {
    {"conv0", 32, 32, 3, 3, 1, 16},           {"stack1_conv", 32, 32, 16, 3, 1, 16},
    {"stack2_conv1", 32, 32, 16, 3, 2, 32},   {"stack2_conv2", 16, 16, 32, 3, 1, 32},
    {"stack2_shortcut", 32, 32, 16, 1, 2, 32}, {"stack3_conv1", 16, 16, 32, 3, 2, 64},
    {"stack3_conv2", 8, 8, 64, 3, 1, 64},     {"stack3_shortcut", 16, 16, 32, 1, 2, 64},
};

// Minimum over runs: on a shared machine interference only ever adds time, so the
// minimum is the steadiest estimate of what the kernel itself costs.
template <class Fn>
double min_ms(int runs, Fn&& fn) {
  fn();
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const double t0 = bench::thread_cpu_ms();
    fn();
    best = std::min(best, bench::thread_cpu_ms() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 100, runs = 15;
  bool ref = false, winograd = false;
  std::string only_layer;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--ref") {
      ref = true;
    } else if (a == "--winograd") {
      winograd = true;
    } else if (a == "--layer" && i + 1 < argc) {
      only_layer = argv[++i];
      if (std::none_of(std::begin(kLayers), std::end(kLayers), [&](const Layer& l) { return only_layer == l.name; })) {
        std::fprintf(stderr, "bench_conv_kernels: no layer named '%s'\n", only_layer.c_str());
        return 1;
      }
    } else if (a == "--disable-avx512") {
#ifndef __EMSCRIPTEN__
      hwy::DisableTargets(HWY_AVX3 | HWY_AVX3_DL);
#endif
    } else {
      std::fprintf(stderr, "bench_conv_kernels: unknown argument '%s'\n", a.c_str());
      return 1;
    }
  }
  nlohmann::json out;
  out["highway_target"] = simd_internal::simd_f32_target_name();
#if defined(__clang__)
  out["compiler"] = std::string("clang ") + __clang_version__;
#else
  out["compiler"] = "g++ " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__);
#endif
  out["batch"] = batch;
#ifdef __EMSCRIPTEN__
  out["clock"] = "wall";
#else
  out["clock"] = "thread_cpu_time";
#endif
  double total[3] = {0, 0, 0};
  Rng rng(5);
  for (const Layer& l : kLayers) {
    if (!only_layer.empty() && only_layer != l.name) continue;
    const WindowShape s = make_window_shape({batch, l.h, l.w, l.cin}, l.k, l.k, l.stride, l.stride, Padding::kSame, l.cout);
    std::vector<float> x(s.input.size()), w(static_cast<size_t>(l.cout) * l.k * l.k * l.cin), b(l.cout);
    std::vector<float> y(s.output.size()), dy(s.output.size()), dx(x.size()), dw(w.size()), db(l.cout);
    const bool use_winograd = winograd && !ref && conv2d_winograd_f32_supports(s);
    std::vector<float> scratch(std::max(conv2d_f32__simd_scratch_size(s),
                                        use_winograd ? conv2d_winograd_f32__simd_scratch_size(s) : size_t{0}));
    for (float& v : x) v = rng.uniform(-1, 1);
    for (float& v : w) v = rng.uniform(-1, 1);
    for (float& v : dy) v = rng.uniform(-1, 1);
    const double flops = 2.0 * s.output.size() * l.k * l.k * l.cin;
    double ms[3];
    if (ref) {
      ms[0] = min_ms(runs, [&] { conv2d_forward__ref<float>(s, x.data(), w.data(), b.data(), y.data()); });
      ms[1] = min_ms(runs, [&] { conv2d_backward_input__ref<float>(s, dy.data(), w.data(), dx.data()); });
      ms[2] = min_ms(runs, [&] { conv2d_backward_filter__ref<float>(s, x.data(), dy.data(), dw.data(), db.data()); });
    } else if (use_winograd) {
      // Filters transformed once, outside the timing, as layers cache them.
      std::vector<float> u_fwd(conv2d_winograd_f32_filter_size(s)), u_bwd(u_fwd.size());
      conv2d_winograd_transform_filter_f32(s, w.data(), WinogradPass::kForward, u_fwd.data());
      conv2d_winograd_transform_filter_f32(s, w.data(), WinogradPass::kBackwardInput, u_bwd.data());
      ms[0] = min_ms(runs, [&] {
        conv2d_winograd_forward_transformed_f32__simd(s, x.data(), u_fwd.data(), b.data(), y.data(), scratch.data());
      });
      ms[1] = min_ms(runs, [&] {
        conv2d_winograd_backward_input_transformed_f32__simd(s, dy.data(), u_bwd.data(), dx.data(), scratch.data());
      });
      ms[2] = min_ms(runs, [&] {
        conv2d_backward_filter_f32__simd(s, x.data(), dy.data(), dw.data(), db.data(), scratch.data());
      });
    } else {
      ms[0] = min_ms(runs, [&] { conv2d_forward_f32__simd(s, x.data(), w.data(), b.data(), y.data(), scratch.data()); });
      ms[1] = min_ms(runs, [&] { conv2d_backward_input_f32__simd(s, dy.data(), w.data(), dx.data(), scratch.data()); });
      ms[2] = min_ms(runs, [&] {
        conv2d_backward_filter_f32__simd(s, x.data(), dy.data(), dw.data(), db.data(), scratch.data());
      });
    }
    nlohmann::json j;
    j["algorithm"] = ref ? "reference" : use_winograd ? "winograd F(4x4,3x3) (backward-filter: implicit GEMM)" : "implicit GEMM";
    const char* pass[3] = {"forward", "backward_input", "backward_filter"};
    for (int p = 0; p < 3; ++p) {
      j[pass[p]] = {{"ms", ms[p]}, {"gflops", flops / ms[p] * 1e-6}};
      total[p] += ms[p];
    }
    out["layers"][l.name] = j;
  }
  out["total_ms"] = {{"forward", total[0]}, {"backward_input", total[1]}, {"backward_filter", total[2]},
                     {"all", total[0] + total[1] + total[2]}};
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
