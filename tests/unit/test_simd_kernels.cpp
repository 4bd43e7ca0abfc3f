// Highway float32 conv and dense kernels against the reference kernels (the oracle) on
// seeded random shapes — odd sizes, 1x1 / 3x3 / 10x4 windows, stride 1 and 2, SAME and
// VALID, batch 1-3 — plus the exact ResNet-8 and DS-CNN layer shapes. Runs natively (best
// Highway target of this CPU) and as wasm under node (SIMD128).
//
// Tolerance. Both kernels compute each output as a float sum of n products in different
// orders (the SIMD GEMM accumulates along K with fused multiply-adds; the reference sums
// per tap, then over taps, without FMA). The classic worst-case bound on either error is
// gamma_n * S ~ n * eps * S, with S = sum |a_k * b_k| and eps = 2^-24 ~ 6e-8. That bound is
// useless as a test: for n >= 170 it exceeds 1e-5 * S and would let a dropped product
// pass. With random-sign data the rounding errors do not add up coherently: the partial
// sums random-walk, and the error stays a few eps * S (we measure < 1e-6 * S here).
// We therefore require |simd - ref| <= 1e-5 * S: an order of magnitude above what rounding
// produces, yet well below one product's share S / n (n <= ~2000 in these tests), so a
// missing, duplicated or misplaced product fails. S is computed exactly as the same
// reference kernel run on |inputs| (every pass is linear in each operand).
// A second mode uses small integer data, where every sum is exact in float whatever the
// order, and requires bit-equal results.
//
// Natively every case runs on each Highway target this CPU supports (AVX-512, AVX2, SSE4,
// ...), not just the best one, since users' machines dispatch to any of them; in wasm
// there is one target, SIMD128.
//
// Threads: with set_num_threads(1, 2, 3), shapes large enough for the kernels to split
// their work must give bit-identical results (each output element is summed by one task in
// the same order), and each thread count must still meet the tolerance above.
//
// Every call also gets its scratch (scratch_size() floats) and outputs filled with NaN and
// fenced by NaN guards: a kernel that reads scratch it did not write, leaves an output
// element unwritten, or writes outside its buffers fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/kernel_params.h"
#include "kernels/ref/add__ref.h"
#include "kernels/ref/conv2d__ref.h"
#include "kernels/ref/dense__ref.h"
#include "kernels/ref/relu__ref.h"
#include "kernels/simd/add_f32__simd.h"
#include "kernels/simd/conv2d_f32__simd.h"
#include "kernels/simd/conv2d_winograd_f32__simd.h"
#include "kernels/simd/dense_f32__simd.h"
#include "kernels/simd/gemm_f32__simd.h"
#include "kernels/simd/relu_f32__simd.h"

#ifndef __EMSCRIPTEN__
#include <hwy/targets.h>
#endif

using namespace slingshot;

namespace {

constexpr double kRelTol = 1e-5;
constexpr size_t kGuard = 19;  // odd, so a guard never lines up with a vector

// A NaN with a payload no arithmetic produces, for bitwise guard checks.
float sentinel() {
  const uint32_t bits = 0x7fc0beefu;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

bool is_sentinel(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits == 0x7fc0beefu;
}

// A buffer of n floats, pre-filled with the sentinel and fenced by sentinel guards.
class Fenced {
 public:
  explicit Fenced(size_t n) : n_(n), buf_(n + 2 * kGuard, sentinel()) {}
  float* data() { return buf_.data() + kGuard; }
  const float* data() const { return buf_.data() + kGuard; }
  float operator[](size_t i) const { return data()[i]; }
  size_t size() const { return n_; }
  bool guards_intact() const {
    for (size_t i = 0; i < kGuard; ++i)
      if (!is_sentinel(buf_[i]) || !is_sentinel(buf_[kGuard + n_ + i])) return false;
    return true;
  }

 private:
  size_t n_;
  std::vector<float> buf_;
};

std::vector<float> random_values(Rng& rng, int64_t n, bool integers) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = integers ? static_cast<float>(static_cast<int>(rng.below(7)) - 3) : rng.uniform(-1.0f, 1.0f);
  return v;
}

std::vector<float> abs_values(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

// Compares a SIMD result with the reference; `bound` holds S per element (see the header).
// Reports the first offending element and the worst error relative to the tolerance.
void compare(const char* pass, const std::string& shape, const Fenced& simd, const std::vector<float>& ref,
             const std::vector<float>& bound, bool exact, double rel_tol = kRelTol, double* worst_seen = nullptr) {
  const std::string what = std::string(pass) + " " + shape;
  INFO(what);
  REQUIRE(simd.size() == ref.size());
  CHECK_MESSAGE(simd.guards_intact(), "wrote outside its output");
  double worst = 0;
  size_t bad = ref.size();
  for (size_t i = 0; i < ref.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(simd[i]) - ref[i]);
    const double tol = exact ? 0.0 : rel_tol * bound[i];
    if (worst_seen && bound[i] > 0) *worst_seen = std::max(*worst_seen, diff / bound[i]);
    if (!(diff <= tol)) {  // also catches NaN (unwritten elements)
      if (bad == ref.size()) bad = i;
      worst = std::isnan(diff) ? INFINITY : std::max(worst, tol > 0 ? diff / tol : INFINITY);
    }
  }
  if (bad != ref.size())
    FAIL_CHECK("element " << bad << ": simd " << simd[bad] << " ref " << ref[bad] << " S " << bound[bad]
                          << ", worst |diff|/tol " << worst << std::string(exact ? " (exact mode)" : ""));
}

// Elements of `got` whose bits differ from the float sum first[i] + second[i].
int64_t sum_mismatches(const Fenced& got, const float* first, const float* second) {
  int64_t mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const float want = first[i] + second[i];
    mismatches += std::memcmp(&got.data()[i], &want, sizeof(float)) != 0;
  }
  return mismatches;
}

struct ConvCase {
  Dims4 input;
  int32_t kh, kw, sh, sw;
  Padding padding;
  int32_t cout;
  bool bias;
};

std::string describe(const ConvCase& c) {
  return "conv in=[" + std::to_string(c.input.n) + "," + std::to_string(c.input.h) + "," +
         std::to_string(c.input.w) + "," + std::to_string(c.input.c) + "] k=" + std::to_string(c.kh) + "x" +
         std::to_string(c.kw) + " s=" + std::to_string(c.sh) + "x" + std::to_string(c.sw) +
         (c.padding == Padding::kSame ? " SAME" : " VALID") + " cout=" + std::to_string(c.cout) +
         (c.bias ? " bias" : "");
}

// Appends a result to *all (if given), for comparisons across thread counts.
void keep(std::vector<float>* all, const Fenced& f) {
  if (all) all->insert(all->end(), f.data(), f.data() + f.size());
}

// Runs the three conv passes through both kernels, appending the SIMD results to *outputs
// if given. Returns false if the window does not fit.
bool check_conv(const ConvCase& c, Rng& rng, bool integers, std::vector<float>* outputs = nullptr) {
  const WindowShape s = make_window_shape(c.input, c.kh, c.kw, c.sh, c.sw, c.padding, c.cout);
  if (s.output.h <= 0 || s.output.w <= 0) return false;
  const std::string shape = describe(c);
  const int64_t in_n = s.input.size(), out_n = s.output.size();
  const int64_t w_n = static_cast<int64_t>(c.cout) * c.kh * c.kw * c.input.c;
  const std::vector<float> x = random_values(rng, in_n, integers);
  const std::vector<float> w = random_values(rng, w_n, integers);
  const std::vector<float> b = random_values(rng, c.cout, integers);
  const std::vector<float> dy = random_values(rng, out_n, integers);
  const std::vector<float> ax = abs_values(x), aw = abs_values(w), ab = abs_values(b), ady = abs_values(dy);
  const float* bias = c.bias ? b.data() : nullptr;
  const size_t scratch_n = conv2d_f32__simd_scratch_size(s);

  {
    std::vector<float> ref(out_n), bound(out_n);
    conv2d_forward__ref<float>(s, x.data(), w.data(), bias, ref.data());
    conv2d_forward__ref<float>(s, ax.data(), aw.data(), c.bias ? ab.data() : nullptr, bound.data());
    Fenced out(out_n), scratch(scratch_n);
    conv2d_forward_f32__simd(s, x.data(), w.data(), bias, out.data(), scratch.data());
    CHECK_MESSAGE(scratch.guards_intact(), "forward overran its scratch: " << shape);
    compare("forward", shape, out, ref, bound, integers);
    keep(outputs, out);
    // A folded residual add gives exactly out + residual (added after the bias).
    Rng residual_rng(static_cast<uint64_t>(out_n) * 7919 + static_cast<uint64_t>(w_n));
    const std::vector<float> residual = random_values(residual_rng, out_n, integers);
    Fenced with_residual(out_n);
    conv2d_forward_f32__simd(s, x.data(), w.data(), bias, with_residual.data(), scratch.data(), FusedRelu{},
                             residual.data());
    CHECK_MESSAGE(sum_mismatches(with_residual, out.data(), residual.data()) == 0,
                  "forward with a residual differs from forward + residual: " << shape);
  }
  {
    std::vector<float> ref(in_n), bound(in_n);
    conv2d_backward_input__ref<float>(s, dy.data(), w.data(), ref.data());
    conv2d_backward_input__ref<float>(s, ady.data(), aw.data(), bound.data());
    Fenced gx(in_n), scratch(scratch_n);
    conv2d_backward_input_f32__simd(s, dy.data(), w.data(), gx.data(), scratch.data());
    CHECK_MESSAGE(scratch.guards_intact(), "backward-input overran its scratch: " << shape);
    compare("backward-input", shape, gx, ref, bound, integers);
    keep(outputs, gx);
    // With accumulate the pass adds to what grad_input holds (an earlier consumer's share).
    // The prior values come from their own generator, so the cases drawn stay the same.
    Rng prior_rng(static_cast<uint64_t>(in_n) * 7919 + static_cast<uint64_t>(w_n));
    const std::vector<float> prior = random_values(prior_rng, in_n, integers);
    for (int64_t i = 0; i < in_n; ++i) ref[i] += prior[i], bound[i] += std::fabs(prior[i]);
    Fenced sum(in_n);
    std::copy(prior.begin(), prior.end(), sum.data());
    conv2d_backward_input_f32__simd(s, dy.data(), w.data(), sum.data(), scratch.data(), /*accumulate=*/true);
    compare("backward-input accumulated", shape, sum, ref, bound, integers);
  }
  {
    std::vector<float> ref(w_n), bound(w_n), ref_b(c.cout), bound_b(c.cout);
    conv2d_backward_filter__ref<float>(s, x.data(), dy.data(), ref.data(), ref_b.data());
    conv2d_backward_filter__ref<float>(s, ax.data(), ady.data(), bound.data(), bound_b.data());
    Fenced gw(w_n), gb(c.cout), scratch(scratch_n);
    conv2d_backward_filter_f32__simd(s, x.data(), dy.data(), gw.data(), c.bias ? gb.data() : nullptr,
                                     scratch.data());
    CHECK_MESSAGE(scratch.guards_intact(), "backward-filter overran its scratch: " << shape);
    compare("backward-filter", shape, gw, ref, bound, integers);
    if (c.bias) compare("backward-bias", shape, gb, ref_b, bound_b, integers);
    keep(outputs, gw);
    if (c.bias) keep(outputs, gb);
  }
  return true;
}

int64_t conv_macs(const ConvCase& c) {
  const WindowShape s = make_window_shape(c.input, c.kh, c.kw, c.sh, c.sw, c.padding, c.cout);
  return s.output.size() * c.kh * c.kw * c.input.c;
}

template <class T, size_t N>
const T& pick(Rng& rng, const T (&options)[N]) {
  return options[rng.below(N)];
}

// A random conv with the odd sizes, windows and strides the kernels must handle. Sizes
// stay small enough that ~60 shapes x 3 passes run well under a second.
ConvCase random_conv(Rng& rng) {
  static const int32_t kSizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 16, 17};
  static const int32_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 24, 32, 33};
  static const int32_t kOut[] = {1, 2, 3, 5, 7, 8, 12, 15, 16, 17, 20, 24, 31, 32, 33, 48, 64, 65};
  static const int32_t kWindows[][2] = {{1, 1}, {1, 1}, {3, 3}, {3, 3}, {3, 3}, {10, 4}, {10, 4}, {2, 2}, {5, 5}, {1, 3}, {3, 1}};
  for (;;) {
    ConvCase c;
    c.input = {static_cast<int32_t>(1 + rng.below(3)), pick(rng, kSizes), pick(rng, kSizes), pick(rng, kChannels)};
    const auto& win = pick(rng, kWindows);
    c.kh = win[0], c.kw = win[1];
    if (c.kh == 10) c.input.h += 10;  // DS-CNN-like tall inputs for the 10x4 window
    c.sh = static_cast<int32_t>(1 + rng.below(2));
    c.sw = rng.below(4) == 0 ? 3 - c.sh : c.sh;  // mostly square strides, sometimes mixed
    c.padding = rng.below(2) ? Padding::kSame : Padding::kValid;
    c.cout = pick(rng, kOut);
    c.bias = rng.below(2) != 0;
    const WindowShape s = make_window_shape(c.input, c.kh, c.kw, c.sh, c.sw, c.padding, c.cout);
    if (s.output.h <= 0 || s.output.w <= 0) continue;
    if (conv_macs(c) > 600000) continue;
    return c;
  }
}

// Runs fn once per Highway target (natively) with dynamic dispatch forced to it.
template <class Fn>
void on_every_target(Fn&& fn) {
#ifndef __EMSCRIPTEN__
  int targets = 0;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(t);
    hwy::GetChosenTarget().Update(hwy::SupportedTargets());
    const std::string name = hwy::TargetName(t);
    INFO("Highway target " << name);
    REQUIRE(name == simd_internal::simd_f32_target_name());
    fn();
    ++targets;
  }
  hwy::SetSupportedTargetsForTest(0);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
  CHECK(targets >= 1);
#else
  fn();
#endif
}

}  // namespace

TEST_CASE("simd conv2d matches the reference on random shapes") {
  on_every_target([&] {
    Rng rng(20240611);
    int cases = 0, one_by_one = 0, strided = 0, valid = 0, tall = 0, planar = 0;
    for (int i = 0; i < 64; ++i) {
      const ConvCase c = random_conv(rng);
      REQUIRE(check_conv(c, rng, /*integers=*/false));
      ++cases;
      one_by_one += c.kh == 1 && c.kw == 1;
      // Backward-input along rows over grad_out planes: stride 1, at most 4 input channels.
      planar += c.sh == 1 && c.sw == 1 && c.input.c <= 4 && (c.kh > 1 || c.kw > 1);
      strided += c.sh == 2 || c.sw == 2;
      valid += c.padding == Padding::kValid;
      tall += c.kh == 10;
    }
    // The generator really covers the cases it promises.
    CHECK(cases >= 50);
    CHECK(one_by_one >= 5);
    CHECK(strided >= 15);
    CHECK(valid >= 15);
    CHECK(tall >= 3);
    CHECK(planar >= 5);
  });
}

TEST_CASE("simd conv2d is bit-exact with the reference on integer data") {
  on_every_target([&] {
    Rng rng(77);
    for (int i = 0; i < 24; ++i) REQUIRE(check_conv(random_conv(rng), rng, /*integers=*/true));
  });
}

TEST_CASE("simd conv2d matches the reference on ResNet-8 and DS-CNN layers") {
  on_every_target([&] {
    Rng rng(8);
    const ConvCase cases[] = {
        // ResNet-8 (MLPerf Tiny), batch 1 and 2.
        {{1, 32, 32, 3}, 3, 3, 1, 1, Padding::kSame, 16, false},   // conv0
        {{2, 32, 32, 16}, 3, 3, 1, 1, Padding::kSame, 16, false},  // stack1 conv1/conv2
        {{1, 32, 32, 16}, 3, 3, 2, 2, Padding::kSame, 32, false},  // stack2 conv1
        {{1, 16, 16, 32}, 3, 3, 1, 1, Padding::kSame, 32, false},  // stack2 conv2
        {{2, 32, 32, 16}, 1, 1, 2, 2, Padding::kSame, 32, true},   // stack2 shortcut
        {{1, 16, 16, 32}, 3, 3, 2, 2, Padding::kSame, 64, false},  // stack3 conv1
        {{1, 8, 8, 64}, 3, 3, 1, 1, Padding::kSame, 64, false},    // stack3 conv2
        {{1, 16, 16, 32}, 1, 1, 2, 2, Padding::kSame, 64, true},   // stack3 shortcut
        // DS-CNN on 49x10 MFCC.
        {{2, 49, 10, 1}, 10, 4, 2, 2, Padding::kSame, 64, false},  // conv0
        {{2, 25, 5, 64}, 1, 1, 1, 1, Padding::kSame, 64, false},   // pointwise (no im2col)
    };
    for (const ConvCase& c : cases) REQUIRE(check_conv(c, rng, false));
  });
}

TEST_CASE("simd conv2d scratch does not grow with the batch") {
  // The col buffer is chunked over output pixels, so training batches need no more scratch.
  const WindowShape a = make_window_shape({1, 32, 32, 16}, 3, 3, 1, 1, Padding::kSame, 16);
  const WindowShape b = make_window_shape({100, 32, 32, 16}, 3, 3, 1, 1, Padding::kSame, 16);
  CHECK(conv2d_f32__simd_scratch_size(b) <= conv2d_f32__simd_scratch_size(a) + 64 * 1024);
}

namespace {

void check_dense(const DenseShape& s, bool with_bias, Rng& rng, bool integers,
                 std::vector<float>* outputs = nullptr) {
  const std::string shape = "dense batch=" + std::to_string(s.batch) + " in=" + std::to_string(s.in_dim) +
                            " out=" + std::to_string(s.out_dim) + (with_bias ? " bias" : "");
  const int64_t xn = static_cast<int64_t>(s.batch) * s.in_dim, yn = static_cast<int64_t>(s.batch) * s.out_dim;
  const int64_t wn = static_cast<int64_t>(s.out_dim) * s.in_dim;
  const std::vector<float> x = random_values(rng, xn, integers), w = random_values(rng, wn, integers);
  const std::vector<float> b = random_values(rng, s.out_dim, integers), dy = random_values(rng, yn, integers);
  const std::vector<float> ax = abs_values(x), aw = abs_values(w), ab = abs_values(b), ady = abs_values(dy);
  const float* bias = with_bias ? b.data() : nullptr;
  const size_t scratch_n = dense_f32__simd_scratch_size(s);
  {
    std::vector<float> ref(yn), bound(yn);
    dense_forward__ref<float>(s, x.data(), w.data(), bias, ref.data());
    dense_forward__ref<float>(s, ax.data(), aw.data(), with_bias ? ab.data() : nullptr, bound.data());
    Fenced out(yn), scratch(scratch_n);
    dense_forward_f32__simd(s, x.data(), w.data(), bias, out.data(), scratch.data());
    CHECK(scratch.guards_intact());
    compare("dense forward", shape, out, ref, bound, integers);
    keep(outputs, out);
  }
  {
    std::vector<float> ref(xn), bound(xn);
    dense_backward_input__ref<float>(s, dy.data(), w.data(), ref.data());
    dense_backward_input__ref<float>(s, ady.data(), aw.data(), bound.data());
    Fenced gx(xn), scratch(scratch_n);
    dense_backward_input_f32__simd(s, dy.data(), w.data(), gx.data(), scratch.data());
    CHECK(scratch.guards_intact());
    compare("dense backward-input", shape, gx, ref, bound, integers);
    keep(outputs, gx);
  }
  {
    std::vector<float> ref(wn), bound(wn), ref_b(s.out_dim), bound_b(s.out_dim);
    dense_backward_weights__ref<float>(s, x.data(), dy.data(), ref.data(), ref_b.data());
    dense_backward_weights__ref<float>(s, ax.data(), ady.data(), bound.data(), bound_b.data());
    Fenced gw(wn), gb(s.out_dim), scratch(scratch_n);
    dense_backward_weights_f32__simd(s, x.data(), dy.data(), gw.data(), with_bias ? gb.data() : nullptr,
                                     scratch.data());
    CHECK(scratch.guards_intact());
    compare("dense backward-weights", shape, gw, ref, bound, integers);
    if (with_bias) compare("dense backward-bias", shape, gb, ref_b, bound_b, integers);
    keep(outputs, gw);
    if (with_bias) keep(outputs, gb);
  }
}

}  // namespace

TEST_CASE("simd dense matches the reference on random and model shapes") {
  on_every_target([&] {
    Rng rng(4242);
    static const int32_t kDims[] = {1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100};
    for (int i = 0; i < 60; ++i) {
      const DenseShape s{static_cast<int32_t>(1 + rng.below(7)), pick(rng, kDims), pick(rng, kDims)};
      check_dense(s, rng.below(2) != 0, rng, /*integers=*/i % 3 == 0);
    }
    check_dense({1, 64, 10}, true, rng, false);    // ResNet-8 head, batch 1
    check_dense({100, 64, 10}, true, rng, false);  // ResNet-8 head, training batch
    check_dense({64, 64, 12}, true, rng, false);   // DS-CNN head
    check_dense({3, 256, 2}, true, rng, false);    // MobileNetV1-0.25 head
  });
}

namespace {

// A random conv big enough to run on several threads: batch 2-5 and at least
// kMinParallelMacs multiply-adds, with the odd sizes, windows and strides of random_conv.
ConvCase random_threaded_conv(Rng& rng) {
  for (;;) {
    ConvCase c = random_conv(rng);
    c.input.n = static_cast<int32_t>(2 + rng.below(4));
    c.input.h += 8, c.input.w += 8;
    c.cout = std::max(c.cout, 8);
    const int64_t macs = conv_macs(c);
    if (macs >= simd_internal::kMinParallelMacs && macs <= 2000000) return c;
  }
}

// Runs body(rng, outputs) with seed `seed` at 1, 2 and 3 threads and requires the
// collected outputs to be bit-identical. The threaded runs are repeated: a race shows
// only when helper threads actually overlap, which a loaded machine makes less likely.
template <class Body>
void check_thread_counts(uint64_t seed, Body&& body) {
  std::vector<float> one;
  for (int threads : {1, 2, 3, 2, 3}) {
    INFO("threads " << threads);
    set_num_threads(threads);
    Rng rng(seed);
    std::vector<float> outputs;
    body(rng, &outputs);
    if (threads == 1) {
      one = outputs;
      CHECK(!one.empty());
    } else {
      REQUIRE(outputs.size() == one.size());
      CHECK(std::memcmp(outputs.data(), one.data(), one.size() * sizeof(float)) == 0);
    }
  }
  set_num_threads(1);
}

}  // namespace

TEST_CASE("simd conv2d and dense give bit-identical results on 1, 2 and 3 threads") {
  Rng shapes(31337);
  int transposed_dw = 0, strided = 0, one_by_one = 0;
  for (int i = 0; i < 12; ++i) {
    const ConvCase c = random_threaded_conv(shapes);
    INFO(describe(c));
    transposed_dw += c.kw * c.input.c < 16 && c.kw * c.input.c < c.cout && !(c.kh == 1 && c.kw == 1);
    strided += c.sh > 1 || c.sw > 1;
    one_by_one += c.kh == 1 && c.kw == 1;
    check_thread_counts(1000 + i, [&](Rng& rng, std::vector<float>* out) { REQUIRE(check_conv(c, rng, false, out)); });
  }
  CHECK(strided >= 2);
  // ResNet-8 training layers at batch 8: every split the kernels make.
  const ConvCase resnet[] = {
      {{8, 32, 32, 3}, 3, 3, 1, 1, Padding::kSame, 16, false},   // conv0 (transposed backward-filter)
      {{8, 16, 16, 16}, 3, 3, 1, 1, Padding::kSame, 16, false},  // stack1 (transposed backward-input)
      {{8, 16, 16, 16}, 3, 3, 2, 2, Padding::kSame, 32, false},  // stack2 conv1 (col2im)
      {{8, 16, 16, 32}, 1, 1, 1, 1, Padding::kSame, 40, true},   // pointwise (row-block GEMMs)
  };
  for (const ConvCase& c : resnet) {
    INFO(describe(c));
    check_thread_counts(7, [&](Rng& rng, std::vector<float>* out) { REQUIRE(check_conv(c, rng, false, out)); });
  }
  const DenseShape dense[] = {{64, 100, 65}, {33, 257, 40}, {100, 64, 48}};
  for (const DenseShape& s : dense)
    check_thread_counts(9, [&](Rng& rng, std::vector<float>* out) { check_dense(s, true, rng, false, out); });
  MESSAGE("random threaded convs: " << transposed_dw << " transposed backward-filter, " << one_by_one << " 1x1");
}

// ---------------------------------------------------------------------------------------
// Winograd F(4x4, 3x3). Its transforms scale values by up to 8 (A^T) and 5 (B^T) and
// divide by 6 and 24 (G), so its rounding error is larger than the GEMM kernels': we
// measure up to ~3e-6 * S on these shapes. The bound below is 2e-5 * S, still far under
// one product's share S / n (n = 9 * Cin <= 600 here: >= 1.6e-3 * S), so a dropped,
// duplicated or misplaced product still fails.
namespace {

constexpr double kWinogradRelTol = 4e-5;

// Forward and backward-input through Winograd against the reference; returns the worst
// |diff| / S seen. Appends the results to *outputs if given.
double check_winograd(const ConvCase& c, Rng& rng, std::vector<float>* outputs = nullptr) {
  const WindowShape s = make_window_shape(c.input, c.kh, c.kw, c.sh, c.sw, c.padding, c.cout);
  const std::string shape = describe(c);
  INFO(shape);
  REQUIRE(conv2d_winograd_f32_supports(s));
  const int64_t in_n = s.input.size(), out_n = s.output.size(), w_n = int64_t{c.cout} * 9 * c.input.c;
  const std::vector<float> x = random_values(rng, in_n, false), w = random_values(rng, w_n, false);
  const std::vector<float> b = random_values(rng, c.cout, false), dy = random_values(rng, out_n, false);
  const std::vector<float> ax = abs_values(x), aw = abs_values(w), ab = abs_values(b), ady = abs_values(dy);
  const size_t scratch_n = conv2d_winograd_f32__simd_scratch_size(s);
  double worst = 0;
  {
    std::vector<float> ref(out_n), bound(out_n);
    conv2d_forward__ref<float>(s, x.data(), w.data(), c.bias ? b.data() : nullptr, ref.data());
    conv2d_forward__ref<float>(s, ax.data(), aw.data(), c.bias ? ab.data() : nullptr, bound.data());
    Fenced out(out_n), scratch(scratch_n);
    conv2d_winograd_forward_f32__simd(s, x.data(), w.data(), c.bias ? b.data() : nullptr, out.data(), scratch.data());
    CHECK_MESSAGE(scratch.guards_intact(), "winograd forward overran its scratch: " << shape);
    compare("winograd forward", shape, out, ref, bound, false, kWinogradRelTol, &worst);
    keep(outputs, out);
    // A filter transformed ahead (how layers reuse it) gives the same bits.
    std::vector<float> u(conv2d_winograd_f32_filter_size(s));
    conv2d_winograd_transform_filter_f32(s, w.data(), WinogradPass::kForward, u.data());
    Fenced again(out_n), scratch_again(scratch_n);
    conv2d_winograd_forward_transformed_f32__simd(s, x.data(), u.data(), c.bias ? b.data() : nullptr, again.data(),
                                                  scratch_again.data());
    CHECK_MESSAGE(std::memcmp(again.data(), out.data(), out_n * sizeof(float)) == 0,
                  "winograd forward with a transformed filter differs: " << shape);
    // A folded residual add gives exactly out + residual (added after the bias).
    Rng residual_rng(static_cast<uint64_t>(out_n) * 7919 + static_cast<uint64_t>(w_n));
    const std::vector<float> residual = random_values(residual_rng, out_n, false);
    Fenced with_residual(out_n);
    conv2d_winograd_forward_transformed_f32__simd(s, x.data(), u.data(), c.bias ? b.data() : nullptr,
                                                  with_residual.data(), scratch_again.data(), FusedRelu{},
                                                  residual.data());
    CHECK_MESSAGE(sum_mismatches(with_residual, out.data(), residual.data()) == 0,
                  "winograd forward with a residual differs from forward + residual: " << shape);
  }
  {
    std::vector<float> ref(in_n), bound(in_n);
    conv2d_backward_input__ref<float>(s, dy.data(), w.data(), ref.data());
    conv2d_backward_input__ref<float>(s, ady.data(), aw.data(), bound.data());
    Fenced gx(in_n), scratch(scratch_n);
    conv2d_winograd_backward_input_f32__simd(s, dy.data(), w.data(), gx.data(), scratch.data());
    CHECK_MESSAGE(scratch.guards_intact(), "winograd backward-input overran its scratch: " << shape);
    compare("winograd backward-input", shape, gx, ref, bound, false, kWinogradRelTol, &worst);
    keep(outputs, gx);
    std::vector<float> u(conv2d_winograd_f32_filter_size(s));
    conv2d_winograd_transform_filter_f32(s, w.data(), WinogradPass::kBackwardInput, u.data());
    Fenced again(in_n), scratch_again(scratch_n);
    conv2d_winograd_backward_input_transformed_f32__simd(s, dy.data(), u.data(), again.data(), scratch_again.data());
    CHECK_MESSAGE(std::memcmp(again.data(), gx.data(), in_n * sizeof(float)) == 0,
                  "winograd backward-input with a transformed filter differs: " << shape);
    // Accumulating adds each result to the value held, in one add: exactly prior + gx.
    Rng prior_rng(static_cast<uint64_t>(in_n) * 7919 + static_cast<uint64_t>(w_n));
    const std::vector<float> prior = random_values(prior_rng, in_n, false);
    Fenced sum(in_n), sum_transformed(in_n);
    std::copy(prior.begin(), prior.end(), sum.data());
    std::copy(prior.begin(), prior.end(), sum_transformed.data());
    conv2d_winograd_backward_input_f32__simd(s, dy.data(), w.data(), sum.data(), scratch.data(), true);
    conv2d_winograd_backward_input_transformed_f32__simd(s, dy.data(), u.data(), sum_transformed.data(),
                                                         scratch_again.data(), true);
    CHECK_MESSAGE(sum_mismatches(sum, prior.data(), gx.data()) + sum_mismatches(sum_transformed, prior.data(), gx.data()) == 0,
                  "winograd backward-input accumulated differs from prior + result: " << shape);
  }
  return worst;
}

}  // namespace

TEST_CASE("winograd conv2d supports exactly 3x3 stride-1 shapes with 8+ channels") {
  const auto shape = [](Dims4 in, int k, int stride, Padding p, int cout) {
    return make_window_shape(in, k, k, stride, stride, p, cout);
  };
  CHECK(conv2d_winograd_f32_supports(shape({1, 32, 32, 16}, 3, 1, Padding::kSame, 16)));
  CHECK(conv2d_winograd_f32_supports(shape({1, 5, 7, 8}, 3, 1, Padding::kValid, 8)));
  CHECK_FALSE(conv2d_winograd_f32_supports(shape({1, 32, 32, 16}, 3, 2, Padding::kSame, 32)));  // stride 2
  CHECK_FALSE(conv2d_winograd_f32_supports(shape({1, 32, 32, 16}, 1, 1, Padding::kSame, 32)));  // 1x1
  CHECK_FALSE(conv2d_winograd_f32_supports(shape({1, 32, 32, 3}, 3, 1, Padding::kSame, 16)));   // RGB input
  CHECK_FALSE(conv2d_winograd_f32_supports(shape({1, 32, 32, 16}, 3, 1, Padding::kSame, 3)));   // 3 outputs
  CHECK_FALSE(conv2d_winograd_f32_supports(shape({1, 32, 32, 16}, 5, 1, Padding::kSame, 16)));  // 5x5
}

TEST_CASE("winograd conv2d matches the reference on random 3x3 stride-1 shapes") {
  on_every_target([&] {
    Rng rng(4343);
    static const int32_t kSizes[] = {1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 17, 32};
    static const int32_t kChannels[] = {8, 9, 13, 16, 17, 24, 32, 33, 64};
    double worst = 0;
    int valid = 0, partial_tiles = 0;
    for (int i = 0; i < 40; ++i) {
      ConvCase c;
      c.input = {static_cast<int32_t>(1 + rng.below(3)), pick(rng, kSizes), pick(rng, kSizes), pick(rng, kChannels)};
      c.kh = c.kw = 3, c.sh = c.sw = 1;
      c.padding = rng.below(3) == 0 ? Padding::kValid : Padding::kSame;
      c.cout = pick(rng, kChannels);
      c.bias = rng.below(2) != 0;
      const WindowShape s = make_window_shape(c.input, 3, 3, 1, 1, c.padding, c.cout);
      if (s.output.h <= 0 || s.output.w <= 0 || conv_macs(c) > 2000000) continue;
      valid += c.padding == Padding::kValid;
      partial_tiles += s.output.h % 4 != 0 || s.output.w % 4 != 0;
      worst = std::max(worst, check_winograd(c, rng));
    }
    CHECK(valid >= 5);
    CHECK(partial_tiles >= 10);
    // The whole ResNet-8 stack at batch 2, where tiles span images inside a block.
    const ConvCase resnet[] = {
        {{2, 32, 32, 16}, 3, 3, 1, 1, Padding::kSame, 16, true},
        {{2, 16, 16, 32}, 3, 3, 1, 1, Padding::kSame, 32, false},
        {{3, 8, 8, 64}, 3, 3, 1, 1, Padding::kSame, 64, true},
    };
    for (const ConvCase& c : resnet) worst = std::max(worst, check_winograd(c, rng));
    MESSAGE("winograd worst |diff| / S: " << worst);
  });
}

// With 16 input and 16 output channels, AVX-512 runs the 36 GEMMs with the filter held in
// registers; one more channel sends the same data through the general GEMM. The shared
// channels must agree bit for bit: both compute each element as the same chain of
// multiply-adds.
TEST_CASE("winograd's 16-channel GEMMs equal the general GEMM bit for bit") {
  on_every_target([&] {
    Rng rng(1616);
    const Dims4 in16{3, 13, 11, 16};
    const WindowShape s16 = make_window_shape(in16, 3, 3, 1, 1, Padding::kSame, 16);
    const std::vector<float> x = random_values(rng, s16.input.size(), false);
    const std::vector<float> w16 = random_values(rng, 16 * 9 * 16, false), b16 = random_values(rng, 16, false);
    const std::vector<float> dy = random_values(rng, s16.output.size(), false);
    const auto run = [](const WindowShape& s, const std::vector<float>& in, const std::vector<float>& w,
                        const float* bias, bool forward) {
      std::vector<float> out(forward ? s.output.size() : s.input.size()), scratch(conv2d_winograd_f32__simd_scratch_size(s));
      if (forward)
        conv2d_winograd_forward_f32__simd(s, in.data(), w.data(), bias, out.data(), scratch.data());
      else
        conv2d_winograd_backward_input_f32__simd(s, in.data(), w.data(), out.data(), scratch.data());
      return out;
    };
    // Forward: a 17th output channel (OHWI: one more filter at the end).
    std::vector<float> w17 = w16, b17 = b16;
    for (int e = 0; e < 9 * 16; ++e) w17.push_back(rng.uniform(-1, 1));
    b17.push_back(0.5f);
    const WindowShape s17 = make_window_shape(in16, 3, 3, 1, 1, Padding::kSame, 17);
    const std::vector<float> y16 = run(s16, x, w16, b16.data(), true), y17 = run(s17, x, w17, b17.data(), true);
    int differ = 0;
    for (int64_t p = 0; p < s16.output.size() / 16; ++p)
      differ += std::memcmp(&y16[p * 16], &y17[p * 17], 16 * sizeof(float)) != 0;
    CHECK_MESSAGE(differ == 0, differ << " forward pixels differ");
    // Backward-input: a 17th input channel (OHWI: one more tap at the end of each I run).
    const Dims4 in17{3, 13, 11, 17};
    const WindowShape t17 = make_window_shape(in17, 3, 3, 1, 1, Padding::kSame, 16);
    std::vector<float> w17i;
    for (int64_t run16 = 0; run16 < 16 * 9; ++run16) {
      w17i.insert(w17i.end(), w16.begin() + run16 * 16, w16.begin() + run16 * 16 + 16);
      w17i.push_back(rng.uniform(-1, 1));
    }
    const std::vector<float> g16 = run(s16, dy, w16, nullptr, false), g17 = run(t17, dy, w17i, nullptr, false);
    differ = 0;
    for (int64_t p = 0; p < s16.input.size() / 16; ++p)
      differ += std::memcmp(&g16[p * 16], &g17[p * 17], 16 * sizeof(float)) != 0;
    CHECK_MESSAGE(differ == 0, differ << " backward-input pixels differ");
  });
}

TEST_CASE("winograd conv2d gives bit-identical results on 1, 2 and 3 threads") {
  const ConvCase cases[] = {
      {{8, 32, 32, 16}, 3, 3, 1, 1, Padding::kSame, 16, true},
      {{5, 16, 16, 32}, 3, 3, 1, 1, Padding::kValid, 24, false},
  };
  for (const ConvCase& c : cases)
    check_thread_counts(11, [&](Rng& rng, std::vector<float>* out) { check_winograd(c, rng, out); });
}

TEST_CASE("simd relu, relu6 and float add are bit-exact with the reference") {
  on_every_target([&] {
    Rng rng(808);
    // Values straddling both kinks (0 and 6), signed zeros, and every tail length.
    for (int64_t count : {1, 3, 15, 16, 17, 31, 64, 1000, 1003}) {
      INFO("count " << count);
      std::vector<float> x(static_cast<size_t>(count)), g(x.size()), b(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        switch (rng.below(6)) {
          case 0: x[i] = 0.0f; break;
          case 1: x[i] = -0.0f; break;
          case 2: x[i] = 6.0f; break;
          default: x[i] = rng.uniform(-8.0f, 8.0f);
        }
        g[i] = rng.uniform(-1.0f, 1.0f);
        b[i] = rng.uniform(-1.0f, 1.0f);
      }
      for (float upper : {6.0f, std::numeric_limits<float>::infinity()}) {
        INFO("upper " << upper);
        std::vector<float> ref(x.size()), got(x.size(), 99.0f);
        relu_forward__ref<float>(count, x.data(), upper, ref.data());
        relu_forward_f32__simd(count, x.data(), upper, got.data());
        CHECK(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)) == 0);
        relu_backward__ref<float>(count, x.data(), g.data(), upper, ref.data());
        std::fill(got.begin(), got.end(), 99.0f);
        relu_backward_f32__simd(count, x.data(), g.data(), upper, got.data());
        CHECK(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)) == 0);
      }
      // The kinks themselves: relu(-0) is +0, and the gradient is 0 at 0 and at 6.
      std::vector<float> y(x.size());
      relu_forward_f32__simd(count, x.data(), 6.0f, y.data());
      std::vector<float> dx(x.size());
      relu_backward_f32__simd(count, x.data(), g.data(), 6.0f, dx.data());
      for (size_t i = 0; i < x.size(); ++i) {
        if (x[i] == 0.0f) CHECK(!std::signbit(y[i]));
        if (x[i] == 0.0f || x[i] == 6.0f) CHECK(dx[i] == 0.0f);
      }
      std::vector<float> ref(x.size()), got(x.size());
      add__ref<float>(count, x.data(), b.data(), ref.data());
      add_f32__simd(count, x.data(), b.data(), got.data());
      CHECK(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)) == 0);
      add_f32__simd(count, got.data(), b.data(), got.data());  // in place
      add__ref<float>(count, ref.data(), b.data(), ref.data());
      CHECK(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)) == 0);
    }
  });
}
