// Per-layer timing of the int8 kernels: the ResNet-8 conv layer shapes (batch 1 by
// default, the browser's inference case) for conv2d_s8__ref, conv2d_s8__simd and,
// natively, XNNPACK's QC8 (per-channel int8) convolution as the peer; plus a depthwise
// layer, two dense layers, ResNet-8's residual adds and a max pool (ref vs simd). Prints one JSON object: per layer milliseconds and
// GMAC/s, and the whole ResNet-8 conv stack (stack1's conv shape counted twice, as the
// network has two). Natively it measures thread CPU time; each figure is the minimum over
// the runs of a repeated call (repeats chosen so one run takes about 2 ms).
//
//   bench_int8_kernels [--batch N] [--runs N] [--no-vnni] [--disable-avx512] [--no-ref]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thread_clock.h"

#include "core/rng.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#include "kernels/ref/max_pool2d_s8__ref.h"
#include "kernels/simd/add_s8__simd.h"
#include "kernels/simd/conv2d_s8__simd.h"
#include "kernels/simd/dense_s8__simd.h"
#include "kernels/simd/depthwise_conv2d_s8__simd.h"
#include "kernels/simd/int8_simd_vnni.h"
#include "kernels/simd/max_pool2d_s8__simd.h"

#ifndef __EMSCRIPTEN__
#include <hwy/targets.h>
#endif

#ifdef SLING_BENCH_XNNPACK
// The few XNNPACK entry points used here, declared by hand: Debian's xnnpack.h includes
// pthreadpool.h, whose -dev package the project does not install (a null thread pool
// runs on the calling thread).
extern "C" {
typedef struct xnn_operator* xnn_operator_t;
int xnn_initialize(const void* allocator);
int xnn_create_convolution2d_nhwc_qc8(uint32_t pad_top, uint32_t pad_right, uint32_t pad_bottom, uint32_t pad_left,
                                      uint32_t kernel_h, uint32_t kernel_w, uint32_t stride_h, uint32_t stride_w,
                                      uint32_t dilation_h, uint32_t dilation_w, uint32_t groups, size_t group_cin,
                                      size_t group_cout, size_t input_stride, size_t output_stride, int8_t input_zp,
                                      float input_scale, const float* kernel_scale, const int8_t* kernel,
                                      const int32_t* bias, int8_t output_zp, float output_scale, int8_t output_min,
                                      int8_t output_max, uint32_t flags, xnn_operator_t* op);
int xnn_setup_convolution2d_nhwc_qc8(xnn_operator_t op, size_t batch, size_t h, size_t w, const int8_t* input,
                                     int8_t* output, void* threadpool);
int xnn_run_operator(xnn_operator_t op, void* threadpool);
int xnn_delete_operator(xnn_operator_t op);
}
#endif

using namespace slingshot;

namespace {

struct Layer {
  const char* name;
  int h, w, cin, k, stride, cout;
  int count;  // occurrences in ResNet-8
};

// ResNet-8 conv layers (MLPerf Tiny), SAME padding.
const Layer kLayers[] = {
    {"conv0", 32, 32, 3, 3, 1, 16, 1},           {"stack1_conv", 32, 32, 16, 3, 1, 16, 2},
    {"stack2_conv1", 32, 32, 16, 3, 2, 32, 1},   {"stack2_conv2", 16, 16, 32, 3, 1, 32, 1},
    {"stack2_shortcut", 32, 32, 16, 1, 2, 32, 1}, {"stack3_conv1", 16, 16, 32, 3, 2, 64, 1},
    {"stack3_conv2", 8, 8, 64, 3, 1, 64, 1},     {"stack3_shortcut", 16, 16, 32, 1, 2, 64, 1},
};

// Minimum over runs of the time of one call, each run timing enough repeats to last
// about 2 ms. On a shared machine interference only adds time, so the minimum is the
// steadiest estimate.
template <class Fn>
double min_ms(int runs, Fn&& fn) {
  fn();
  int reps = 1;
  for (;;) {
    const double t0 = bench::thread_cpu_ms();
    for (int i = 0; i < reps; ++i) fn();
    if (bench::thread_cpu_ms() - t0 >= 2.0 || reps >= (1 << 20)) break;
    reps *= 2;
  }
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const double t0 = bench::thread_cpu_ms();
    for (int i = 0; i < reps; ++i) fn();
    best = std::min(best, (bench::thread_cpu_ms() - t0) / reps);
  }
  return best;
}

std::vector<int8_t> random_int8(Rng& rng, int64_t n) {
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (int8_t& x : v) x = static_cast<int8_t>(static_cast<int32_t>(rng.below(256)) - 128);
  return v;
}

// Typical per-channel parameters: scales around 2^-9, ReLU clamp.
struct Quant {
  std::vector<int32_t> mult, shift, bias;
  ConvQuantParams q{};
  Quant(Rng& rng, int cout) : mult(cout), shift(cout), bias(cout) {
    for (int i = 0; i < cout; ++i) {
      mult[i] = static_cast<int32_t>((1u << 30) + (rng.next_u32() >> 2));
      shift[i] = -8 - static_cast<int32_t>(rng.below(3));
      bias[i] = static_cast<int32_t>(rng.below(2001)) - 1000;
    }
    q = ConvQuantParams{3, -5, mult.data(), shift.data(), true, -5, 127, RoundingMode::kDouble};
  }
};

nlohmann::json figures(double ms, double macs) { return {{"ms", ms}, {"gmacs", macs / ms * 1e-6}}; }

}  // namespace

int main(int argc, char** argv) {
  int batch = 1, runs = 15;
  bool ref = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--no-vnni") {
      set_int8_simd_vnni(false);
    } else if (a == "--no-ref") {
      ref = false;
    } else if (a == "--disable-avx512") {
#ifndef __EMSCRIPTEN__
      hwy::DisableTargets(HWY_AVX3 | HWY_AVX3_DL);
#endif
    } else {
      std::fprintf(stderr, "bench_int8_kernels: unknown argument '%s'\n", a.c_str());
      return 1;
    }
  }
  nlohmann::json out;
  out["highway_target"] = conv2d_s8__simd_target_name();
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
#ifdef SLING_BENCH_XNNPACK
  const bool xnn = xnn_initialize(nullptr) == 0;
#else
  const bool xnn = false;
#endif
  out["peer"] = xnn ? "XNNPACK QC8 convolution (Debian libxnnpack 2022-02, one thread)" : "none";
  double total[3] = {0, 0, 0};  // ref, simd, xnnpack
  double total_macs = 0;
  Rng rng(5);
  for (const Layer& l : kLayers) {
    const WindowShape s =
        make_window_shape({batch, l.h, l.w, l.cin}, l.k, l.k, l.stride, l.stride, Padding::kSame, l.cout);
    const std::vector<int8_t> x = random_int8(rng, s.input.size());
    const std::vector<int8_t> f = random_int8(rng, int64_t{l.cout} * l.k * l.k * l.cin);
    const Quant u(rng, l.cout);
    std::vector<int8_t> y(static_cast<size_t>(s.output.size())), y_ref(y.size());
    std::vector<int32_t> packed(static_cast<size_t>(conv2d_s8__simd_packed_size(s)));
    conv2d_s8__simd_pack_filter(s, f.data(), packed.data());
    std::vector<int32_t> scratch(static_cast<size_t>(conv2d_s8__simd_scratch_size(s)));
    const double macs = static_cast<double>(s.output.size()) * l.k * l.k * l.cin;
    nlohmann::json j;
    j["macs"] = macs;
    j["count"] = l.count;
    const double simd_ms = min_ms(runs, [&] {
      conv2d_s8__simd(s, u.q, x.data(), packed.data(), u.bias.data(), y.data(), scratch.data());
    });
    j["simd"] = figures(simd_ms, macs);
    total[1] += l.count * simd_ms;
    if (ref) {
      const double ref_ms =
          min_ms(runs, [&] { conv2d_s8__ref(s, u.q, x.data(), f.data(), u.bias.data(), y_ref.data()); });
      j["ref"] = figures(ref_ms, macs);
      j["simd_equals_ref"] = y == y_ref;
      total[0] += l.count * ref_ms;
    }
#ifdef SLING_BENCH_XNNPACK
    if (xnn) {
      const int pad_h = std::max(0, (s.output.h - 1) * l.stride + l.k - l.h);
      const int pad_w = std::max(0, (s.output.w - 1) * l.stride + l.k - l.w);
      const std::vector<float> kscale(l.cout, 1.0f / 512);
      xnn_operator_t op = nullptr;
      int st = xnn_create_convolution2d_nhwc_qc8(
          s.pad_top, pad_w - s.pad_left, pad_h - s.pad_top, s.pad_left, l.k, l.k, l.stride, l.stride, 1, 1, 1, l.cin,
          l.cout, l.cin, l.cout, -3, 0.05f, kscale.data(), f.data(), u.bias.data(), -5, 0.04f, -5, 127, 0, &op);
      if (st == 0)
        st = xnn_setup_convolution2d_nhwc_qc8(op, batch, l.h, l.w, x.data(), y.data(), nullptr);
      if (st == 0) {
        const double xnn_ms = min_ms(runs, [&] { xnn_run_operator(op, nullptr); });
        j["xnnpack"] = figures(xnn_ms, macs);
        j["simd_over_xnnpack_time"] = simd_ms / xnn_ms;
        total[2] += l.count * xnn_ms;
      } else {
        j["xnnpack"] = "error " + std::to_string(st);
      }
      if (op) xnn_delete_operator(op);
    }
#endif
    total_macs += l.count * macs;
    out["conv_layers"][l.name] = j;
  }
  nlohmann::json t;
  t["macs"] = total_macs;
  t["simd"] = figures(total[1], total_macs);
  if (ref) t["ref"] = figures(total[0], total_macs), t["simd_speedup_over_ref"] = total[0] / total[1];
  if (total[2] > 0) t["xnnpack"] = figures(total[2], total_macs), t["simd_over_xnnpack_time"] = total[1] / total[2];
  out["resnet8_convs"] = t;

  // A DS-CNN-like depthwise layer and two dense layers (ResNet-8's head and a wider one).
  {
    const WindowShape s = make_window_shape({batch, 25, 5, 64}, 3, 3, 1, 1, Padding::kSame, 64);
    const std::vector<int8_t> x = random_int8(rng, s.input.size()), f = random_int8(rng, 9 * 64);
    const Quant u(rng, 64);
    std::vector<int8_t> y(static_cast<size_t>(s.output.size()));
    std::vector<int32_t> scratch(static_cast<size_t>(depthwise_conv2d_s8__simd_scratch_size(s)));
    const double macs = static_cast<double>(s.output.size()) * 9;
    nlohmann::json j;
    j["simd"] = figures(min_ms(runs, [&] {
                          depthwise_conv2d_s8__simd(s, u.q, x.data(), f.data(), u.bias.data(), y.data(),
                                                    scratch.data());
                        }),
                        macs);
    if (ref)
      j["ref"] = figures(
          min_ms(runs, [&] { depthwise_conv2d_s8__ref(s, u.q, x.data(), f.data(), u.bias.data(), y.data()); }), macs);
    out["depthwise_25x5x64_k3"] = j;
  }
  for (const DenseShape d : {DenseShape{batch, 64, 10}, DenseShape{batch, 256, 128}}) {
    const std::vector<int8_t> x = random_int8(rng, int64_t{d.batch} * d.in_dim);
    const std::vector<int8_t> w = random_int8(rng, int64_t{d.in_dim} * d.out_dim);
    const Quant u(rng, d.out_dim);
    std::vector<int8_t> y(static_cast<size_t>(int64_t{d.batch} * d.out_dim));
    std::vector<int32_t> scratch(static_cast<size_t>(dense_s8__simd_scratch_size(d)));
    const double macs = static_cast<double>(d.batch) * d.in_dim * d.out_dim;
    nlohmann::json j;
    j["simd"] = figures(
        min_ms(runs, [&] { dense_s8__simd(d, u.q, x.data(), w.data(), u.bias.data(), y.data(), scratch.data()); }),
        macs);
    if (ref)
      j["ref"] =
          figures(min_ms(runs, [&] { dense_s8__ref(d, u.q, x.data(), w.data(), u.bias.data(), y.data()); }), macs);
    out["dense_" + std::to_string(d.in_dim) + "x" + std::to_string(d.out_dim)] = j;
  }
  // ResNet-8's three residual adds (32x32x16, 16x16x32, 8x8x64), TFLite-like parameters.
  {
    const int64_t count = int64_t{batch} * (32 * 32 * 16 + 16 * 16 * 32 + 8 * 8 * 64);
    const std::vector<int8_t> a = random_int8(rng, count), b = random_int8(rng, count);
    std::vector<int8_t> y(static_cast<size_t>(count));
    const AddQuantParams q{20, 3, 1518500250, -1, -7, 1200000000, -2, 4, 1300000000, -19, -128, 127,
                           RoundingMode::kDouble};
    nlohmann::json j;
    j["elements"] = count;
    const double simd_ms = min_ms(runs, [&] { add_s8__simd(count, q, a.data(), b.data(), y.data()); });
    j["simd"] = {{"ms", simd_ms}, {"gelem_per_s", count / simd_ms * 1e-6}};
    if (ref) {
      const double ref_ms = min_ms(runs, [&] { add_s8__ref(count, q, a.data(), b.data(), y.data()); });
      j["ref"] = {{"ms", ref_ms}, {"gelem_per_s", count / ref_ms * 1e-6}};
    }
    out["resnet8_adds"] = j;
  }
  // A 2x2 stride-2 max pool on a 32x32x32 map.
  {
    const WindowShape s = make_window_shape({batch, 32, 32, 32}, 2, 2, 2, 2, Padding::kValid, 32);
    const std::vector<int8_t> x = random_int8(rng, s.input.size());
    std::vector<int8_t> y(static_cast<size_t>(s.output.size()));
    const PoolQuantParams q{-128, 127};
    nlohmann::json j;
    const double elems = static_cast<double>(s.input.size());
    const double simd_ms = min_ms(runs, [&] { max_pool2d_s8__simd(s, q, x.data(), y.data()); });
    j["simd"] = {{"ms", simd_ms}, {"gelem_per_s", elems / simd_ms * 1e-6}};
    if (ref) {
      const double ref_ms = min_ms(runs, [&] { max_pool2d_s8__ref(s, q, x.data(), y.data()); });
      j["ref"] = {{"ms", ref_ms}, {"gelem_per_s", elems / ref_ms * 1e-6}};
    }
    out["max_pool_32x32x32_k2s2"] = j;
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}
