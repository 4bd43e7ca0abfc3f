// The int8 reference kernels (int8-ref engine) against hand-worked cases of TFLite's int8
// reference arithmetic (every expected value is derived in the comment beside it), and
// against an independent formulation on seeded random shapes: an explicitly padded copy
// of the offset input (pads hold 0, i.e. the zero point), im2col-style patches, int64
// sums, then requantization.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"
#include "kernels/ref/add_s8__ref.h"
#include "kernels/ref/avg_pool2d_s8__ref.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#include "kernels/ref/global_avg_pool_s8__ref.h"
#include "kernels/ref/max_pool2d_s8__ref.h"
#include "quant/fixed_point.h"
#include "quant/quantize_multiplier.h"

using namespace slingshot;

namespace {

constexpr int32_t kHalf = 1 << 30;  // multiplier 0.5 at shift 0; (kHalf, 1) is 1.0, (kHalf, -1) is 0.25
constexpr RoundingMode kModes[] = {RoundingMode::kDouble, RoundingMode::kSingle};

ConvQuantParams conv_params(int32_t input_zp, int32_t output_zp, const int32_t* mult, const int32_t* shift,
                            bool per_channel, int32_t act_min, int32_t act_max, RoundingMode mode) {
  return ConvQuantParams{-input_zp, output_zp, mult, shift, per_channel, act_min, act_max, mode};
}

std::vector<int32_t> as_int(const std::vector<int8_t>& v) { return std::vector<int32_t>(v.begin(), v.end()); }

}  // namespace

// ---------------------------------------------------------------------------------------
// Hand-worked golden cases.

TEST_CASE("conv2d_s8: SAME stride 2 with asymmetric pad, zero-point padding, per-channel, ties, ReLU") {
  // Input 1x4x4x1 with zero point 3; v = x - 3 is
  //    1  2  3  4
  //    5  6  7  8
  //   -1 -2 -3 -4
  //    0  1  0  1
  // 3x3 kernel, stride 2, SAME: out 2x2, total pad (2-1)*2+3-4 = 1 -> 0 before, 1 after,
  // so windows start at rows/cols 0 and 2, and the second one hangs over the edge.
  const int8_t v[16] = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, 0, 1, 0, 1};
  int8_t input[16];
  for (int i = 0; i < 16; ++i) input[i] = static_cast<int8_t>(v[i] + 3);
  // oc0: all ones. oc1: 2 at the centre, -1 at the top-left corner.
  int8_t filter[18] = {1, 1, 1, 1, 1, 1, 1, 1, 1, -1, 0, 0, 0, 2, 0, 0, 0, 0};
  const int32_t bias[2] = {2, -1};
  // Sums of v over each window (pads add nothing; had a pad been read as raw 0 it would add -3):
  //   oc0: (0,0) 1+2+3+5+6+7-1-2-3 = 18; (0,1) 3+4+7+8-3-4 = 15; (1,0) -1-2-3+0+1+0 = -5;
  //        (1,1) -3-4+0+1 = -6. With bias 2: 20, 17, -3, -4.
  //   oc1: (0,0) 2*6-1 = 11; (0,1) 2*8-3 = 13; (1,0) 2*1-(-1) = 3; (1,1) 2*1-(-3) = 5.
  //        With bias -1: 10, 12, 2, 4.
  // oc0 multiplier 0.5: 10, 8.5 -> 9 (tie up), -1.5 -> -1 (tie up), -2.
  // oc1 multiplier 0.25: double rounding: 2.5 -> high-mul 5, then 5/2 = 2.5 away -> 3; 3;
  //   0.5 -> high-mul 1, 1/2 -> 1; 1. Single rounding: floor(x + 0.5): 3, 3, 1, 1.
  // Output zero point -5, ReLU clamp [-5, 127]: oc0 5, 4, -6 -> -5, -7 -> -5; oc1 -2, -2, -4, -4.
  const int32_t mult[2] = {kHalf, kHalf};
  const int32_t shift[2] = {0, -1};
  const WindowShape s = make_window_shape({1, 4, 4, 1}, 3, 3, 2, 2, Padding::kSame, 2);
  REQUIRE(s.output.h == 2);
  REQUIRE(s.output.w == 2);
  REQUIRE(s.pad_top == 0);
  const std::vector<int32_t> expected = {5, -2, 4, -2, -5, -4, -5, -4};
  for (RoundingMode mode : kModes) {
    std::vector<int8_t> out(8, 99);
    conv2d_s8__ref(s, conv_params(3, -5, mult, shift, true, -5, 127, mode), input, filter, bias, out.data());
    CHECK(as_int(out) == expected);
  }
  // Without bias and the clamp, oc0 (0,1) is 15 * 0.5 = 7.5 -> 8 and (1,0) -5 * 0.5 = -2.5 -> -2
  // (ties up); plus -5: 3 and -7. Per-tensor (per_channel false) applies entry 0 to oc1 too:
  // oc1 (0,0) 11 * 0.5 = 5.5 -> 6, + -5 = 1.
  std::vector<int8_t> out(8);
  conv2d_s8__ref(s, conv_params(3, -5, mult, shift, false, -128, 127, RoundingMode::kDouble), input, filter,
                 nullptr, out.data());
  CHECK(out[1] == 1);
  CHECK(out[2] == 3);
  CHECK(out[4] == -7);
}

TEST_CASE("depthwise_conv2d_s8: multiplier 2, asymmetric SAME pad, saturation both ways, tie by rounding mode") {
  // Input 1x2x2x1 with zero point -128: v = x + 128 = [[10, 20], [30, 40]].
  // 2x2 kernel, stride 1, SAME: total pad 1 -> 0 before, 1 after (right column, bottom row).
  const int8_t input[4] = {-118, -108, -98, -88};
  // Filter [1,2,2,2] (ky, kx, oc): oc0 = [[1, 2], [3, -4]], oc1 = all -100.
  const int8_t filter[8] = {1, -100, 2, -100, 3, -100, -4, -100};
  // oc0: (0,0) 10+40+90-160 = -20; (0,1) taps (0,0)->20, (1,0)->40*3: 140; (1,0) 30 + 2*40 = 110;
  //      (1,1) 40.  Multiplier 1.0, zero point -10: -30, 130 -> 127 (saturates), 100, 30.
  // oc1: -100 * window sums 100, 60, 70, 40: -10000, -6000, -7000, -4000. Multiplier 2^-6:
  //      -156.25 -> -156, -93.75 -> -94, -109.375 -> -109, -62.5: double rounding (high-mul
  //      exact -2000, then -2000/32 away from zero) -63; single floor(-62.5 + 0.5) = -62.
  //      Zero point -10: -166 -> -128 (saturates), -104, -119, -73 (double) / -72 (single).
  const int32_t mult[2] = {kHalf, kHalf};
  const int32_t shift[2] = {1, -5};
  const WindowShape s = make_window_shape({1, 2, 2, 1}, 2, 2, 1, 1, Padding::kSame, 2);
  for (RoundingMode mode : kModes) {
    std::vector<int8_t> out(8);
    depthwise_conv2d_s8__ref(s, conv_params(-128, -10, mult, shift, true, -128, 127, mode), input, filter,
                             nullptr, out.data());
    const int32_t last = mode == RoundingMode::kDouble ? -73 : -72;
    CHECK(as_int(out) == std::vector<int32_t>{-30, -128, 127, -104, 100, -119, 30, last});
  }
}

TEST_CASE("depthwise_conv2d_s8: multiplier 1, VALID, two channels with bias") {
  // Input 1x1x3x2 (w = 3, c = 2), zero point 0; kernel 1x2, stride 1, VALID: out 1x2.
  // ch0 values 1, 2, 3; ch1 values -1, -2, -3. Filter [1,1,2,2]: kx0 = (1, 2), kx1 = (3, 4).
  const int8_t input[6] = {1, -1, 2, -2, 3, -3};
  const int8_t filter[4] = {1, 2, 3, 4};
  const int32_t bias[2] = {1, 0};
  // ch0: 1*1 + 3*2 + 1 = 8; 1*2 + 3*3 + 1 = 12. ch1: 2*-1 + 4*-2 = -10; 2*-2 + 4*-3 = -16.
  // Per-tensor multiplier 0.5: 4, 6, -5, -8. Zero point 0.
  const int32_t mult[1] = {kHalf};
  const int32_t shift[1] = {0};
  const WindowShape s = make_window_shape({1, 1, 3, 2}, 1, 2, 1, 1, Padding::kValid, 2);
  std::vector<int8_t> out(4);
  depthwise_conv2d_s8__ref(s, conv_params(0, 0, mult, shift, false, -128, 127, RoundingMode::kDouble), input,
                           filter, bias, out.data());
  CHECK(as_int(out) == std::vector<int32_t>{4, -5, 6, -8});
}

TEST_CASE("dense_s8: per-channel and per-tensor, saturation, ReLU6 clamp, double vs single rounding tie") {
  // Input zero point 1: batch 0 x = (3, -1, 5) -> v = (2, -2, 4); batch 1 x = (1, 1, 1) -> v = 0.
  const int8_t input[6] = {3, -1, 5, 1, 1, 1};
  // Weights [2, 3]: o0 = (1, 2, 3), o1 = (-127, 127, 0). Bias (91, 0).
  const int8_t weights[6] = {1, 2, 3, -127, 127, 0};
  const int32_t bias[2] = {91, 0};
  // acc: b0 o0 2-4+12+91 = 101; b0 o1 -254-254 = -508; b1 o0 91; b1 o1 0.
  // Per-channel: o0 * 0.25, o1 * 1.0; output zero point 2.
  //   101 * 0.25 = 25.25: double: high-mul round(50.5) = 51, 51/2 = 25.5 -> 26; single: 25.
  //   -508 -> -508 + 2 -> -128 (saturates).  91 * 0.25 = 22.75 -> 23 both (high-mul 45.5 -> 46).
  //   So b0 = (28 | 27, -128), b1 = (25, 2).
  const int32_t mult[2] = {kHalf, kHalf};
  const int32_t shift[2] = {-1, 1};
  const DenseShape s{2, 3, 2};
  for (RoundingMode mode : kModes) {
    std::vector<int8_t> out(4);
    dense_s8__ref(s, conv_params(1, 2, mult, shift, true, -128, 127, mode), input, weights, bias, out.data());
    const int32_t first = mode == RoundingMode::kDouble ? 28 : 27;
    CHECK(as_int(out) == std::vector<int32_t>{first, -128, 25, 2});
  }
  // Per-tensor (entry 0, i.e. 0.25, for both outputs) with a ReLU6 clamp [2, 26]:
  // b0: 28 -> 26, -127 + 2 = -125 -> 2; b1: 25, 2.
  std::vector<int8_t> out(4);
  dense_s8__ref(s, conv_params(1, 2, mult, shift, false, 2, 26, RoundingMode::kDouble), input, weights, bias,
                out.data());
  CHECK(as_int(out) == std::vector<int32_t>{26, 2, 25, 2});
  // Without bias: b0 o0 = 10 * 0.25 = 2.5 -> high-mul 5, 5/2 away -> 3, + 2 = 5; b1 o0 = 0 + 2.
  dense_s8__ref(s, conv_params(1, 2, mult, shift, false, -128, 127, RoundingMode::kDouble), input, weights, nullptr,
                out.data());
  CHECK(out[0] == 5);
  CHECK(out[2] == 2);
}

TEST_CASE("max_pool2d_s8: SAME padding never wins the max, activation clamp") {
  // 3x3 input, 2x2 window, stride 2, SAME: out 2x2, pad 0 before and 1 after.
  //   -5  -3   -7
  //   -4  -9   -8
  //   -6  -2 -100
  // (0,0) max(-5,-3,-4,-9) = -3; (0,1) max(-7,-8) = -7 (a padded 0 would win);
  // (1,0) max(-6,-2) = -2; (1,1) -100, clamped to -50.
  const int8_t input[9] = {-5, -3, -7, -4, -9, -8, -6, -2, -100};
  const WindowShape s = make_window_shape({1, 3, 3, 1}, 2, 2, 2, 2, Padding::kSame, 1);
  std::vector<int8_t> out(4);
  max_pool2d_s8__ref(s, PoolQuantParams{-50, 127}, input, out.data());
  CHECK(as_int(out) == std::vector<int32_t>{-3, -7, -2, -50});
  // Two channels, VALID 2x2 stride 1 over a 2x2 input, clamp at 5: ch0 max(1,2,3,4) = 4, ch1 max(9,-1,0,0) = 9 -> 5.
  const int8_t in2[8] = {1, 9, 2, -1, 3, 0, 4, 0};
  std::vector<int8_t> out2(2);
  max_pool2d_s8__ref(make_window_shape({1, 2, 2, 2}, 2, 2, 1, 1, Padding::kValid, 2), PoolQuantParams{-128, 5}, in2,
                     out2.data());
  CHECK(as_int(out2) == std::vector<int32_t>{4, 5});
}

TEST_CASE("avg_pool2d_s8: rounding half away from zero, padding not counted, clamp") {
  // 3x3 input, 2x2 window, stride 2, SAME (pad 1 after):
  //   -1 -3  -4
  //    0 -2   1
  //    4  3 127
  // (0,0) sum -6, count 4: -1.5 -> (-6 - 2)/4 = -2 (a naive (sum + 2)/4 gives -1).
  // (0,1) sum -3, count 2 (pads not counted): -1.5 -> (-3 - 1)/2 = -2 (count 4 would give -1).
  // (1,0) sum 7, count 2: 3.5 -> (7 + 1)/2 = 4.  (1,1) 127, count 1, clamped to 100.
  const int8_t input[9] = {-1, -3, -4, 0, -2, 1, 4, 3, 127};
  const WindowShape s = make_window_shape({1, 3, 3, 1}, 2, 2, 2, 2, Padding::kSame, 1);
  std::vector<int8_t> out(4);
  avg_pool2d_s8__ref(s, PoolQuantParams{-128, 100}, input, out.data());
  CHECK(as_int(out) == std::vector<int32_t>{-2, -2, 4, 100});
  // 3-wide window, VALID: -5/3 = -1.67 -> (-5 - 1)/3 = -2; -4/3 = -1.33 -> (-4 - 1)/3 = -1; 5/3 -> (5+1)/3 = 2.
  const int8_t row[9] = {-1, -2, -2, -2, -1, -1, 1, 2, 2};
  std::vector<int8_t> out3(3);
  avg_pool2d_s8__ref(make_window_shape({1, 3, 3, 1}, 1, 3, 1, 1, Padding::kValid, 1), PoolQuantParams{-128, 127},
                     row, out3.data());
  CHECK(as_int(out3) == std::vector<int32_t>{-2, -1, 2});
  CHECK(rounded_average(-5, 3) == -2);
  CHECK(rounded_average(-4, 3) == -1);
  CHECK(rounded_average(0, 7) == 0);
}

TEST_CASE("global_avg_pool_s8: TFLite MEAN over H,W (rescale, then rounded divide)") {
  // Input 1x2x2x2, zero point 10, output zero point -3, input_scale/output_scale = 0.5.
  // ch0 raw 11, 12, 13, 15 -> v 1, 2, 3, 5, sum 11; 11 * 0.5 = 5.5 -> 6 (tie up in double,
  //   floor(6.0) in single); 6/4 = 1.5 -> (6 + 2)/4 = 2; + -3 = -1.
  // ch1 raw 0, 1, 2, 1 -> v -10, -9, -8, -9, sum -36; * 0.5 = -18; -18/4 = -4.5 -> (-18 - 2)/4 = -5;
  //   + -3 = -8.
  // Batch 1: ch0 all 127 -> v 117, sum 468 * 0.5 = 234, /4 = 58.5 -> 59, -3 = 56; ch1 all -128 ->
  //   v -138, sum -552 * 0.5 = -276, /4 = -69, -3 = -72, clamped at -70.
  const int8_t input[16] = {11, 0, 12, 1, 13, 2, 15, 1, 127, -128, 127, -128, 127, -128, 127, -128};
  for (RoundingMode mode : kModes) {
    std::vector<int8_t> out(4);
    global_avg_pool_s8__ref({2, 2, 2, 2}, MeanQuantParams{-10, -3, kHalf, 0, -70, 127, mode}, input, out.data());
    CHECK(as_int(out) == std::vector<int32_t>{-1, -8, 56, -70});
  }
}

TEST_CASE("add_s8: different input scales, rescale with left shift 20, ties by rounding mode, saturation, clamp") {
  // s1 = 0.5 (zero point 2), s2 = 0.25 (zero point -4), s_out = 1 (zero point 1).
  // twice_max = 1: input1 multiplier 0.5, input2 multiplier 0.25, output multiplier 2^-20.
  // Real result: 0.5 (q1 - 2) + 0.25 (q2 + 4) + 1.
  //   e0: q1 5, q2 0: 1.5 + 1 = 2.5 -> ties: double (exact high-mul, then away from zero) 3,
  //       single floor(3.0) = 3; + 1 = 4.
  //   e1: q1 -1, q2 -6: -1.5 - 0.5 = -2 exactly; -1.
  //   e2: q1 -3, q2 -4: -2.5 -> double -3 (away from zero), single floor(-2.0) = -2; -2 | -1.
  //   e3: q1 127, q2 127: 62.5 + 32.75 = 95.25 -> 95; 96.
  const int8_t in1[4] = {5, -1, -3, 127};
  const int8_t in2[4] = {0, -6, -4, 127};
  AddQuantParams q{20, -2, kHalf, 0, 4, kHalf, -1, 1, kHalf, -19, -128, 127, RoundingMode::kDouble};
  std::vector<int8_t> out(4);
  add_s8__ref(4, q, in1, in2, out.data());
  CHECK(as_int(out) == std::vector<int32_t>{4, -1, -2, 96});
  q.rounding = RoundingMode::kSingle;
  add_s8__ref(4, q, in1, in2, out.data());
  CHECK(as_int(out) == std::vector<int32_t>{4, -1, -1, 96});
  // s_out = 0.5 (output multiplier 2^-19): 5 + 1 = 6; -4 + 1 = -3; -5 + 1 = -4;
  // 190.5 -> 191 (both modes) + 1 = 192 -> 127 (saturates).
  q.output_shift = -18;
  for (RoundingMode mode : kModes) {
    q.rounding = mode;
    add_s8__ref(4, q, in1, in2, out.data());
    CHECK(as_int(out) == std::vector<int32_t>{6, -3, -4, 127});
  }
  // Back to s_out = 1 with a clamp [-1, 3]: 4 -> 3, -1, -2 -> -1 (double), 96 -> 3.
  q.output_shift = -19;
  q.rounding = RoundingMode::kDouble;
  q.activation_min = -1;
  q.activation_max = 3;
  add_s8__ref(4, q, in1, in2, out.data());
  CHECK(as_int(out) == std::vector<int32_t>{3, -1, -1, 3});
}

// ---------------------------------------------------------------------------------------
// Cross-check against an independent formulation on seeded random shapes.

namespace {

// TFLite window geometry, computed here without kernel_params.h.
struct Geometry {
  int32_t out_h, out_w, pad_top, pad_left, padded_h, padded_w;
};

int32_t ceil_div(int32_t a, int32_t b) { return (a + b - 1) / b; }

Geometry geometry(int32_t h, int32_t w, int32_t kh, int32_t kw, int32_t sh, int32_t sw, bool same) {
  Geometry g{};
  if (same) {
    g.out_h = ceil_div(h, sh);
    g.out_w = ceil_div(w, sw);
    g.pad_top = std::max(0, (g.out_h - 1) * sh + kh - h) / 2;
    g.pad_left = std::max(0, (g.out_w - 1) * sw + kw - w) / 2;
  } else {
    g.out_h = h >= kh ? ceil_div(h - kh + 1, sh) : 0;
    g.out_w = w >= kw ? ceil_div(w - kw + 1, sw) : 0;
  }
  // Enough rows/columns that every window lies inside the padded copy.
  g.padded_h = std::max(g.pad_top + h, (g.out_h - 1) * sh + kh);
  g.padded_w = std::max(g.pad_left + w, (g.out_w - 1) * sw + kw);
  return g;
}

// An NHWC int32 copy of `x` placed inside a frame of `fill`; x values pass through `f`.
template <class F>
std::vector<int32_t> padded_copy(const std::vector<int8_t>& x, int32_t n, int32_t h, int32_t w, int32_t c,
                                 const Geometry& g, int32_t fill, F f) {
  std::vector<int32_t> p(static_cast<size_t>(n) * g.padded_h * g.padded_w * c, fill);
  for (int32_t b = 0; b < n; ++b)
    for (int32_t y = 0; y < h; ++y)
      for (int32_t xx = 0; xx < w; ++xx)
        for (int32_t ch = 0; ch < c; ++ch)
          p[((static_cast<size_t>(b) * g.padded_h + y + g.pad_top) * g.padded_w + xx + g.pad_left) * c + ch] =
              f(x[((static_cast<size_t>(b) * h + y) * w + xx) * c + ch]);
  return p;
}

// The window of output (b, oy, ox) as an im2col patch in (ky, kx, ch) order.
std::vector<int32_t> patch(const std::vector<int32_t>& p, const Geometry& g, int32_t c, int32_t b, int32_t oy,
                           int32_t ox, int32_t kh, int32_t kw, int32_t sh, int32_t sw) {
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(kh) * kw * c);
  for (int32_t ky = 0; ky < kh; ++ky)
    for (int32_t kx = 0; kx < kw; ++kx)
      for (int32_t ch = 0; ch < c; ++ch)
        out.push_back(p[((static_cast<size_t>(b) * g.padded_h + oy * sh + ky) * g.padded_w + ox * sw + kx) * c + ch]);
  return out;
}

int8_t requantize(int64_t acc, int32_t mult, int32_t shift, RoundingMode mode, int32_t zp, int32_t lo,
                  int32_t hi) {
  REQUIRE(acc >= INT32_MIN);
  REQUIRE(acc <= INT32_MAX);
  const int32_t r = multiply_by_quantized_multiplier(static_cast<int32_t>(acc), mult, shift, mode) + zp;
  return static_cast<int8_t>(std::min(hi, std::max(lo, r)));
}

int32_t rand_in(Rng& rng, int32_t lo, int32_t hi) { return lo + static_cast<int32_t>(rng.below(hi - lo + 1)); }

std::vector<int8_t> rand_s8(Rng& rng, size_t n, int32_t lo = -128, int32_t hi = 127) {
  std::vector<int8_t> v(n);
  for (auto& e : v) e = static_cast<int8_t>(rand_in(rng, lo, hi));
  return v;
}

// A random window op: batch 1-2, odd and even sizes, 1x1 / 3x3 / 10x4 / random kernels,
// strides 1-2, both paddings; re-drawn until the output is not empty.
struct RandomWindow {
  int32_t n, h, w, kh, kw, sh, sw;
  bool same;
  Geometry g;
};

RandomWindow random_window(Rng& rng, int i) {
  for (;;) {
    RandomWindow r{};
    r.n = rand_in(rng, 1, 2);
    r.h = rand_in(rng, 1, 11);
    r.w = rand_in(rng, 1, 11);
    switch (i % 4) {
      case 0: r.kh = r.kw = 1; break;
      case 1: r.kh = r.kw = 3; break;
      case 2: r.kh = 10; r.kw = 4; r.h += 6; break;
      default: r.kh = rand_in(rng, 1, 5); r.kw = rand_in(rng, 1, 5); break;
    }
    r.sh = rand_in(rng, 1, 2);
    r.sw = rand_in(rng, 1, 2);
    r.same = rng.below(2) == 1;
    r.g = geometry(r.h, r.w, r.kh, r.kw, r.sh, r.sw, r.same);
    if (r.g.out_h > 0 && r.g.out_w > 0) return r;
  }
}

// Random requantization parameters: multipliers in [2^30, 2^31), and shifts around the
// one that maps a typical accumulator of a k-term dot product (~6000 sqrt(k)) to ~100, so
// outputs spread over the int8 range and some saturate.
struct RandomRequant {
  std::vector<int32_t> mult, shift;
  bool per_channel;
  int32_t input_zp, output_zp, act_min, act_max;
  RoundingMode mode;
};

RandomRequant random_requant(Rng& rng, int32_t channels, int i, int32_t k) {
  RandomRequant q;
  int32_t base = 0;  // ~log2(6000 sqrt(k) / 100)
  while ((int64_t{1} << (2 * base)) < int64_t{3600} * k) ++base;
  q.per_channel = rng.below(4) != 0;
  const int32_t count = q.per_channel ? channels : 1;
  for (int32_t c = 0; c < count; ++c) {
    q.mult.push_back(static_cast<int32_t>((int64_t{1} << 30) + rng.below(1u << 30)));
    q.shift.push_back(std::min(0, -base + rand_in(rng, -2, 3)));
  }
  q.input_zp = rand_in(rng, -128, 127);
  q.output_zp = rand_in(rng, -128, 127);
  switch (rng.below(3)) {
    case 0: q.act_min = -128; q.act_max = 127; break;
    case 1: q.act_min = q.output_zp; q.act_max = 127; break;  // ReLU
    default: q.act_min = q.output_zp; q.act_max = std::min(127, q.output_zp + 40); break;  // ReLU6-like
  }
  q.mode = (i % 2 == 0) ? RoundingMode::kDouble : RoundingMode::kSingle;
  return q;
}

ConvQuantParams to_params(const RandomRequant& q) {
  return ConvQuantParams{-q.input_zp, q.output_zp, q.mult.data(), q.shift.data(), q.per_channel, q.act_min,
                         q.act_max, q.mode};
}

int64_t mismatches(const std::vector<int8_t>& a, const std::vector<int8_t>& b) {
  if (a.size() != b.size()) return -1;
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) bad += a[i] != b[i];
  return bad;
}

void check_geometry(const WindowShape& s, const Geometry& g) {
  REQUIRE(s.output.h == g.out_h);
  REQUIRE(s.output.w == g.out_w);
  REQUIRE(s.pad_top == g.pad_top);
  REQUIRE(s.pad_left == g.pad_left);
}

constexpr int kCases = 60;

}  // namespace

TEST_CASE("conv2d_s8 matches an im2col formulation on random shapes") {
  Rng rng(31);
  int64_t saturated = 0, total = 0;
  for (int i = 0; i < kCases; ++i) {
    const RandomWindow r = random_window(rng, i);
    const int32_t cin = rand_in(rng, 1, 5), cout = rand_in(rng, 1, 5);
    const RandomRequant q = random_requant(rng, cout, i, r.kh * r.kw * cin);
    const auto input = rand_s8(rng, static_cast<size_t>(r.n) * r.h * r.w * cin);
    const auto filter = rand_s8(rng, static_cast<size_t>(cout) * r.kh * r.kw * cin, -127, 127);
    std::vector<int32_t> bias(cout);
    for (auto& b : bias) b = rand_in(rng, -20000, 20000);
    const bool use_bias = rng.below(4) != 0;

    const WindowShape s = make_window_shape({r.n, r.h, r.w, cin}, r.kh, r.kw, r.sh, r.sw,
                                            r.same ? Padding::kSame : Padding::kValid, cout);
    check_geometry(s, r.g);
    std::vector<int8_t> got(static_cast<size_t>(s.output.size()), 0x55);
    conv2d_s8__ref(s, to_params(q), input.data(), filter.data(), use_bias ? bias.data() : nullptr, got.data());

    const auto p = padded_copy(input, r.n, r.h, r.w, cin, r.g, 0, [&](int8_t x) { return x - q.input_zp; });
    const int32_t k = r.kh * r.kw * cin;
    std::vector<int8_t> want;
    for (int32_t b = 0; b < r.n; ++b)
      for (int32_t oy = 0; oy < r.g.out_h; ++oy)
        for (int32_t ox = 0; ox < r.g.out_w; ++ox) {
          const auto col = patch(p, r.g, cin, b, oy, ox, r.kh, r.kw, r.sh, r.sw);
          for (int32_t oc = 0; oc < cout; ++oc) {
            int64_t acc = use_bias ? bias[oc] : 0;
            for (int32_t j = 0; j < k; ++j) acc += int64_t{col[j]} * filter[static_cast<size_t>(oc) * k + j];
            const int32_t ch = q.per_channel ? oc : 0;
            want.push_back(requantize(acc, q.mult[ch], q.shift[ch], q.mode, q.output_zp, q.act_min, q.act_max));
            saturated += want.back() == -128 || want.back() == 127;
            ++total;
          }
        }
    INFO("case " << i << ": n" << r.n << " " << r.h << "x" << r.w << "x" << cin << " k" << r.kh << "x" << r.kw
                 << " s" << r.sh << "," << r.sw << (r.same ? " SAME" : " VALID") << " cout " << cout);
    CHECK(mismatches(got, want) == 0);
  }
  // The random parameters reach the saturating ends without saturating everything.
  CHECK(saturated > 0);
  CHECK(saturated < total / 2);
}

TEST_CASE("depthwise_conv2d_s8 matches an im2col formulation on random shapes") {
  Rng rng(32);
  for (int i = 0; i < kCases; ++i) {
    const RandomWindow r = random_window(rng, i);
    const int32_t cin = rand_in(rng, 1, 6), mult = rand_in(rng, 1, 3), cout = cin * mult;
    const RandomRequant q = random_requant(rng, cout, i, r.kh * r.kw);
    const auto input = rand_s8(rng, static_cast<size_t>(r.n) * r.h * r.w * cin);
    const auto filter = rand_s8(rng, static_cast<size_t>(r.kh) * r.kw * cout, -127, 127);
    std::vector<int32_t> bias(cout);
    for (auto& b : bias) b = rand_in(rng, -20000, 20000);
    const bool use_bias = rng.below(4) != 0;

    const WindowShape s = make_window_shape({r.n, r.h, r.w, cin}, r.kh, r.kw, r.sh, r.sw,
                                            r.same ? Padding::kSame : Padding::kValid, cout);
    check_geometry(s, r.g);
    std::vector<int8_t> got(static_cast<size_t>(s.output.size()), 0x55);
    depthwise_conv2d_s8__ref(s, to_params(q), input.data(), filter.data(), use_bias ? bias.data() : nullptr,
                             got.data());

    const auto p = padded_copy(input, r.n, r.h, r.w, cin, r.g, 0, [&](int8_t x) { return x - q.input_zp; });
    const int32_t taps = r.kh * r.kw;
    std::vector<int8_t> want(got.size());
    for (int32_t b = 0; b < r.n; ++b)
      for (int32_t oy = 0; oy < r.g.out_h; ++oy)
        for (int32_t ox = 0; ox < r.g.out_w; ++ox) {
          const auto col = patch(p, r.g, cin, b, oy, ox, r.kh, r.kw, r.sh, r.sw);
          const size_t base = ((static_cast<size_t>(b) * r.g.out_h + oy) * r.g.out_w + ox) * cout;
          for (int32_t oc = 0; oc < cout; ++oc) {
            const int32_t ic = oc / mult;
            int64_t acc = use_bias ? bias[oc] : 0;
            for (int32_t t = 0; t < taps; ++t)
              acc += int64_t{col[static_cast<size_t>(t) * cin + ic]} * filter[static_cast<size_t>(t) * cout + oc];
            const int32_t ch = q.per_channel ? oc : 0;
            want[base + oc] = requantize(acc, q.mult[ch], q.shift[ch], q.mode, q.output_zp, q.act_min, q.act_max);
          }
        }
    INFO("case " << i << ": n" << r.n << " " << r.h << "x" << r.w << "x" << cin << " mult " << mult << " k" << r.kh
                 << "x" << r.kw << " s" << r.sh << "," << r.sw << (r.same ? " SAME" : " VALID"));
    CHECK(mismatches(got, want) == 0);
  }
}

TEST_CASE("dense_s8 matches a column-by-column formulation on random shapes") {
  Rng rng(33);
  for (int i = 0; i < kCases; ++i) {
    const DenseShape s{rand_in(rng, 1, 3), rand_in(rng, 1, 70), rand_in(rng, 1, 12)};
    const RandomRequant q = random_requant(rng, s.out_dim, i, s.in_dim);
    const auto input = rand_s8(rng, static_cast<size_t>(s.batch) * s.in_dim);
    const auto weights = rand_s8(rng, static_cast<size_t>(s.out_dim) * s.in_dim, -127, 127);
    std::vector<int32_t> bias(s.out_dim);
    for (auto& b : bias) b = rand_in(rng, -50000, 50000);
    const bool use_bias = rng.below(4) != 0;
    std::vector<int8_t> got(static_cast<size_t>(s.batch) * s.out_dim, 0x55);
    dense_s8__ref(s, to_params(q), input.data(), weights.data(), use_bias ? bias.data() : nullptr, got.data());

    // Accumulate input feature by input feature (outer loop over i), all outputs at once.
    std::vector<int8_t> want(got.size());
    for (int32_t b = 0; b < s.batch; ++b) {
      std::vector<int64_t> acc(s.out_dim, 0);
      for (int32_t k = 0; k < s.in_dim; ++k) {
        const int64_t v = input[static_cast<size_t>(b) * s.in_dim + k] - q.input_zp;
        for (int32_t o = 0; o < s.out_dim; ++o) acc[o] += v * weights[static_cast<size_t>(o) * s.in_dim + k];
      }
      for (int32_t o = 0; o < s.out_dim; ++o) {
        const int32_t ch = q.per_channel ? o : 0;
        want[static_cast<size_t>(b) * s.out_dim + o] = requantize(acc[o] + (use_bias ? bias[o] : 0), q.mult[ch],
                                                                  q.shift[ch], q.mode, q.output_zp, q.act_min,
                                                                  q.act_max);
      }
    }
    INFO("case " << i << ": batch " << s.batch << " in " << s.in_dim << " out " << s.out_dim);
    CHECK(mismatches(got, want) == 0);
  }
}

TEST_CASE("max and average pooling match a padded-copy formulation on random shapes") {
  Rng rng(34);
  constexpr int32_t kPad = INT32_MIN;  // marks padded positions in the copy
  for (int i = 0; i < kCases; ++i) {
    const RandomWindow r = random_window(rng, i);
    const int32_t c = rand_in(rng, 1, 5);
    const auto input = rand_s8(rng, static_cast<size_t>(r.n) * r.h * r.w * c);
    int32_t lo = -128, hi = 127;
    if (rng.below(2)) {
      lo = rand_in(rng, -128, 0);
      hi = rand_in(rng, lo, 127);
    }
    const WindowShape s = make_window_shape({r.n, r.h, r.w, c}, r.kh, r.kw, r.sh, r.sw,
                                            r.same ? Padding::kSame : Padding::kValid, c);
    check_geometry(s, r.g);
    std::vector<int8_t> got_max(static_cast<size_t>(s.output.size()), 0x55), got_avg(got_max.size(), 0x55);
    max_pool2d_s8__ref(s, PoolQuantParams{lo, hi}, input.data(), got_max.data());
    avg_pool2d_s8__ref(s, PoolQuantParams{lo, hi}, input.data(), got_avg.data());

    const auto p = padded_copy(input, r.n, r.h, r.w, c, r.g, kPad, [](int8_t x) { return int32_t{x}; });
    std::vector<int8_t> want_max(got_max.size()), want_avg(got_max.size());
    for (int32_t b = 0; b < r.n; ++b)
      for (int32_t oy = 0; oy < r.g.out_h; ++oy)
        for (int32_t ox = 0; ox < r.g.out_w; ++ox) {
          const auto col = patch(p, r.g, c, b, oy, ox, r.kh, r.kw, r.sh, r.sw);
          const size_t base = ((static_cast<size_t>(b) * r.g.out_h + oy) * r.g.out_w + ox) * c;
          for (int32_t ch = 0; ch < c; ++ch) {
            int32_t m = kPad;
            int64_t sum = 0, count = 0;
            for (size_t t = ch; t < col.size(); t += c) {
              if (col[t] == kPad) continue;
              m = std::max(m, col[t]);
              sum += col[t];
              ++count;
            }
            REQUIRE(count > 0);
            // Round half away from zero, written with magnitudes: |avg| = floor((2|sum| + count) / (2 count)).
            const int64_t mag = (2 * (sum < 0 ? -sum : sum) + count) / (2 * count);
            const int64_t avg = sum < 0 ? -mag : mag;
            want_max[base + ch] = static_cast<int8_t>(std::min(hi, std::max(lo, m)));
            want_avg[base + ch] = static_cast<int8_t>(std::min<int64_t>(hi, std::max<int64_t>(lo, avg)));
          }
        }
    INFO("case " << i << ": n" << r.n << " " << r.h << "x" << r.w << "x" << c << " k" << r.kh << "x" << r.kw << " s"
                 << r.sh << "," << r.sw << (r.same ? " SAME" : " VALID") << " clamp " << lo << ".." << hi);
    CHECK(mismatches(got_max, want_max) == 0);
    CHECK(mismatches(got_avg, want_avg) == 0);
  }
}

TEST_CASE("global_avg_pool_s8 matches a per-channel formulation on random shapes") {
  Rng rng(35);
  for (int i = 0; i < kCases; ++i) {
    const Dims4 d{rand_in(rng, 1, 2), rand_in(rng, 1, 9), rand_in(rng, 1, 9), rand_in(rng, 1, 6)};
    const int32_t in_zp = rand_in(rng, -128, 127), out_zp = rand_in(rng, -128, 127);
    // input_scale / output_scale in [0.25, 4), as calibrated MEAN layers have.
    const auto m = quantize_multiplier(0.25 + 3.75 * rng.uniform());
    REQUIRE(m.ok());
    const RoundingMode mode = (i % 2 == 0) ? RoundingMode::kDouble : RoundingMode::kSingle;
    const auto input = rand_s8(rng, static_cast<size_t>(d.size()));
    std::vector<int8_t> got(static_cast<size_t>(d.n) * d.c, 0x55);
    global_avg_pool_s8__ref(d, MeanQuantParams{-in_zp, out_zp, m->multiplier, m->shift, -128, 127, mode},
                            input.data(), got.data());

    std::vector<int8_t> want(got.size());
    const int64_t hw = int64_t{d.h} * d.w;
    for (int32_t b = 0; b < d.n; ++b)
      for (int32_t ch = 0; ch < d.c; ++ch) {
        int64_t sum = 0;
        for (int64_t pix = 0; pix < hw; ++pix) sum += input[(static_cast<size_t>(b) * hw + pix) * d.c + ch] - in_zp;
        const int64_t r = multiply_by_quantized_multiplier(static_cast<int32_t>(sum), m->multiplier, m->shift, mode);
        const int64_t mag = (2 * (r < 0 ? -r : r) + hw) / (2 * hw);
        const int64_t mean = (r < 0 ? -mag : mag) + out_zp;
        want[static_cast<size_t>(b) * d.c + ch] = static_cast<int8_t>(std::min<int64_t>(127, std::max<int64_t>(-128, mean)));
      }
    INFO("case " << i << ": " << d.n << "x" << d.h << "x" << d.w << "x" << d.c);
    CHECK(mismatches(got, want) == 0);
  }
}

TEST_CASE("add_s8 matches TFLite's prepared parameters applied element by element") {
  Rng rng(36);
  for (int i = 0; i < kCases; ++i) {
    // Scales as TFLite prepares ADD: twice_max = 2 max(s1, s2), left shift 20.
    const double s1 = 0.002 + 0.2 * rng.uniform(), s2 = 0.002 + 0.2 * rng.uniform();
    const double s_out = 0.004 + 0.3 * rng.uniform();
    const double twice_max = 2 * std::max(s1, s2);
    const auto m1 = quantize_multiplier(s1 / twice_max);
    const auto m2 = quantize_multiplier(s2 / twice_max);
    const auto mo = quantize_multiplier(twice_max / ((1 << 20) * s_out));
    REQUIRE((m1.ok() && m2.ok() && mo.ok()));
    const int32_t zp1 = rand_in(rng, -128, 127), zp2 = rand_in(rng, -128, 127), zpo = rand_in(rng, -128, 127);
    const RoundingMode mode = (i % 2 == 0) ? RoundingMode::kDouble : RoundingMode::kSingle;
    const int32_t lo = rng.below(2) ? zpo : -128;
    AddQuantParams q{20, -zp1, m1->multiplier, m1->shift, -zp2, m2->multiplier, m2->shift, zpo,
                     mo->multiplier, mo->shift, lo, 127, mode};
    const auto count = static_cast<int64_t>(rand_in(rng, 1, 300));
    const auto a = rand_s8(rng, static_cast<size_t>(count)), b = rand_s8(rng, static_cast<size_t>(count));
    std::vector<int8_t> got(static_cast<size_t>(count), 0x55);
    add_s8__ref(count, q, a.data(), b.data(), got.data());

    std::vector<int8_t> want(got.size());
    for (size_t e = 0; e < want.size(); ++e) {
      // Offset input times 2^20, in int64 to show nothing overflows.
      const int64_t x1 = (int64_t{a[e]} - zp1) * (int64_t{1} << 20);
      const int64_t x2 = (int64_t{b[e]} - zp2) * (int64_t{1} << 20);
      REQUIRE(x1 == static_cast<int32_t>(x1));
      REQUIRE(x2 == static_cast<int32_t>(x2));
      const int64_t sum = int64_t{multiply_by_quantized_multiplier(static_cast<int32_t>(x1), m1->multiplier,
                                                                   m1->shift, mode)} +
                          multiply_by_quantized_multiplier(static_cast<int32_t>(x2), m2->multiplier, m2->shift, mode);
      want[e] = requantize(sum, mo->multiplier, mo->shift, mode, zpo, lo, 127);
    }
    INFO("case " << i << ": s1 " << s1 << " s2 " << s2 << " s_out " << s_out);
    CHECK(mismatches(got, want) == 0);
  }
}
