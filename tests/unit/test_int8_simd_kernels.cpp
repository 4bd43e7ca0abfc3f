// The Highway int8 kernels (conv2d_s8__simd, depthwise_conv2d_s8__simd, dense_s8__simd)
// against the int8 reference kernels, integer for integer: every output byte must be
// equal. Seeded random layers cover odd channel counts, strides 1 and 2 (also mixed),
// SAME and VALID padding, square and non-square kernels, batches > 1, per-channel and
// per-tensor multipliers, both rounding modes, extreme zero points, multipliers and
// shifts (so requantization saturates and the output clamps), and activation clamps.
// Natively every case runs on every Highway target this CPU supports (AVX-512 with and
// without VNNI, AVX2, SSE4, ..., the scalar fallback); in wasm on SIMD128.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#ifndef __EMSCRIPTEN__
#include <hwy/targets.h>
#endif

#include "core/rng.h"
#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"
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

using namespace slingshot;

namespace {

int32_t uniform_int(Rng& rng, int32_t lo, int32_t hi) {  // [lo, hi]
  return lo + static_cast<int32_t>(rng.below(static_cast<uint32_t>(hi - lo + 1)));
}

template <class T>
T pick(Rng& rng, std::initializer_list<T> values) {
  return values.begin()[rng.below(static_cast<uint32_t>(values.size()))];
}

std::vector<int8_t> random_int8(Rng& rng, int64_t n) {
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (int8_t& x : v) x = static_cast<int8_t>(uniform_int(rng, -128, 127));
  return v;
}

// Quantization parameters and the arrays they point into. `harsh` picks extremes: zero
// points -128/127, shifts near -31 or positive (up to 30), tiny and full-scale multipliers,
// large biases, so requantization saturates and wraps.
struct Quant {
  std::vector<int32_t> mult, shift, bias;
  ConvQuantParams q{};
  bool has_bias = true;
  std::string describe() const {
    return "in_off=" + std::to_string(q.input_offset) + " out_off=" + std::to_string(q.output_offset) +
           " per_channel=" + std::to_string(q.per_channel) + " act=[" + std::to_string(q.activation_min) + "," +
           std::to_string(q.activation_max) + "] rounding=" + std::to_string(static_cast<int>(q.rounding)) +
           " shift0=" + std::to_string(shift[0]) + " bias=" + std::to_string(has_bias);
  }
};

Quant random_quant(Rng& rng, int32_t channels, bool harsh) {
  Quant u;
  const int32_t zp_in =
      harsh ? pick<int32_t>(rng, {-128, 127, uniform_int(rng, -128, 127)}) : uniform_int(rng, -20, 20);
  const int32_t zp_out =
      harsh ? pick<int32_t>(rng, {-128, 127, uniform_int(rng, -128, 127)}) : uniform_int(rng, -20, 20);
  u.q.input_offset = -zp_in;
  u.q.output_offset = zp_out;
  u.q.per_channel = rng.below(2) == 0;
  u.q.rounding = rng.below(2) == 0 ? RoundingMode::kDouble : RoundingMode::kSingle;
  const int32_t n = u.q.per_channel ? channels : 1;
  u.mult.resize(static_cast<size_t>(std::max(n, 1)));
  u.shift.resize(u.mult.size());
  for (size_t i = 0; i < u.mult.size(); ++i) {
    // Normalized Q31 multipliers in [2^30, 2^31), sometimes the ends of the range or 0.
    int32_t m = static_cast<int32_t>((1u << 30) + (rng.next_u32() >> 2));
    int32_t sh = uniform_int(rng, -14, -4);  // typical conv: scales around 2^-8
    if (harsh) {
      m = pick<int32_t>(rng, {m, 1 << 30, INT32_MAX, 0, m});
      sh = pick<int32_t>(rng, {sh, uniform_int(rng, -31, -25), uniform_int(rng, 1, 30), 0, -1, -31, 30});
    }
    u.mult[i] = m;
    u.shift[i] = sh;
  }
  u.q.output_multiplier = u.mult.data();
  u.q.output_shift = u.shift.data();
  // Clamps: none, ReLU-like (from the output zero point), ReLU6-like, or an arbitrary range.
  switch (rng.below(4)) {
    case 0:
      u.q.activation_min = -128, u.q.activation_max = 127;
      break;
    case 1:
      u.q.activation_min = zp_out, u.q.activation_max = 127;
      break;
    case 2:
      u.q.activation_min = zp_out, u.q.activation_max = std::min(127, zp_out + uniform_int(rng, 0, 100));
      break;
    default: {
      const int32_t a = uniform_int(rng, -128, 127), b = uniform_int(rng, -128, 127);
      u.q.activation_min = std::min(a, b), u.q.activation_max = std::max(a, b);
    }
  }
  u.has_bias = rng.below(5) != 0;
  u.bias.resize(static_cast<size_t>(std::max(channels, 1)));
  const int32_t span = harsh ? pick<int32_t>(rng, {1 << 12, 1 << 20, 1 << 30}) : 1 << 12;
  for (int32_t& b : u.bias) b = uniform_int(rng, -span, span);
  return u;
}

// Runs fn once per dispatch variant: natively each Highway target the CPU supports, and
// on the AVX-512 target also without VNNI; in wasm the one static target.
void for_each_target(const std::function<void()>& fn) {
#ifdef __EMSCRIPTEN__
  INFO("target WASM");
  fn();
#else
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string name = hwy::TargetName(target);
    const bool vnni = target == HWY_AVX3 && int8_simd_vnni_active();
    {
      INFO("target " << name << (vnni ? "+VNNI" : ""));
      fn();
    }
    if (vnni) {
      set_int8_simd_vnni(false);
      INFO("target " << name);
      fn();
      set_int8_simd_vnni(true);
    }
  }
  hwy::SetSupportedTargetsForTest(0);
#endif
}

std::string describe(const WindowShape& s) {
  return "in " + std::to_string(s.input.n) + "x" + std::to_string(s.input.h) + "x" + std::to_string(s.input.w) + "x" +
         std::to_string(s.input.c) + " out " + std::to_string(s.output.h) + "x" + std::to_string(s.output.w) + "x" +
         std::to_string(s.output.c) + " k " + std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + " s " +
         std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) + " pad " + std::to_string(s.pad_top) + "," +
         std::to_string(s.pad_left);
}

// Number of output bytes that differ (and the first one's index in `first`).
int64_t mismatches(const std::vector<int8_t>& a, const std::vector<int8_t>& b, int64_t& first) {
  int64_t count = 0;
  first = -1;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) {
      if (count++ == 0) first = static_cast<int64_t>(i);
    }
  return count;
}

// Scratch full of garbage: the kernels must not depend on its previous contents.
std::vector<int32_t> dirty_scratch(Rng& rng, int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t& x : v) x = static_cast<int32_t>(rng.next_u32());
  return v;
}

// Reports a mismatch with the case that produced it; returns the mismatch count.
int64_t compare(const std::vector<int8_t>& ref, const std::vector<int8_t>& simd, const std::string& what) {
  int64_t first = 0;
  const int64_t bad = mismatches(ref, simd, first);
  if (bad) {
    INFO(what << " first mismatch at " << first << ": ref " << int{ref[first]} << " simd " << int{simd[first]});
    CHECK(bad == 0);
  }
  return bad;
}

// One conv layer: simd (packed filter) against ref; returns the mismatch count.
int64_t check_conv(Rng& rng, const WindowShape& s, bool harsh) {
  const Quant u = random_quant(rng, s.output.c, harsh);
  const std::vector<int8_t> x = random_int8(rng, s.input.size());
  const std::vector<int8_t> f = random_int8(rng, int64_t{s.output.c} * s.kernel_h * s.kernel_w * s.input.c);
  const int32_t* bias = u.has_bias ? u.bias.data() : nullptr;
  std::vector<int8_t> ref(static_cast<size_t>(s.output.size()), 1), simd(ref.size(), 2);
  conv2d_s8__ref(s, u.q, x.data(), f.data(), bias, ref.data());
  std::vector<int32_t> packed(static_cast<size_t>(conv2d_s8__simd_packed_size(s)));
  conv2d_s8__simd_pack_filter(s, f.data(), packed.data());
  std::vector<int32_t> scratch = dirty_scratch(rng, conv2d_s8__simd_scratch_size(s));
  conv2d_s8__simd(s, u.q, x.data(), packed.data(), bias, simd.data(), scratch.data());
  return compare(ref, simd, describe(s) + " " + u.describe());
}

// One depthwise layer (multiplier s.output.c / s.input.c): simd against ref.
int64_t check_depthwise(Rng& rng, const WindowShape& s, bool harsh) {
  const Quant u = random_quant(rng, s.output.c, harsh);
  const std::vector<int8_t> x = random_int8(rng, s.input.size());
  const std::vector<int8_t> f = random_int8(rng, int64_t{s.kernel_h} * s.kernel_w * s.output.c);
  const int32_t* bias = u.has_bias ? u.bias.data() : nullptr;
  std::vector<int8_t> ref(static_cast<size_t>(s.output.size()), 1), simd(ref.size(), 2);
  depthwise_conv2d_s8__ref(s, u.q, x.data(), f.data(), bias, ref.data());
  std::vector<int32_t> scratch = dirty_scratch(rng, depthwise_conv2d_s8__simd_scratch_size(s));
  depthwise_conv2d_s8__simd(s, u.q, x.data(), f.data(), bias, simd.data(), scratch.data());
  return compare(ref, simd, "depthwise " + describe(s) + " " + u.describe());
}

// One dense layer: simd against ref.
int64_t check_dense(Rng& rng, const DenseShape& s, bool harsh) {
  const Quant u = random_quant(rng, s.out_dim, harsh);
  const std::vector<int8_t> x = random_int8(rng, int64_t{s.batch} * s.in_dim);
  const std::vector<int8_t> w = random_int8(rng, int64_t{s.out_dim} * s.in_dim);
  const int32_t* bias = u.has_bias ? u.bias.data() : nullptr;
  std::vector<int8_t> ref(static_cast<size_t>(int64_t{s.batch} * s.out_dim), 1), simd(ref.size(), 2);
  dense_s8__ref(s, u.q, x.data(), w.data(), bias, ref.data());
  std::vector<int32_t> scratch = dirty_scratch(rng, dense_s8__simd_scratch_size(s));
  dense_s8__simd(s, u.q, x.data(), w.data(), bias, simd.data(), scratch.data());
  return compare(ref, simd,
                 "dense " + std::to_string(s.batch) + "x" + std::to_string(s.in_dim) + "->" +
                     std::to_string(s.out_dim) + " " + u.describe());
}

WindowShape random_window(Rng& rng, int32_t cin, int32_t cout) {
  const int32_t n = pick<int32_t>(rng, {1, 1, 1, 2, 3});
  const int32_t h = uniform_int(rng, 1, 11), w = uniform_int(rng, 1, 11);
  int32_t kh = pick<int32_t>(rng, {1, 3, 3, 5, 1, 2, 3});
  int32_t kw = rng.below(3) == 0 ? pick<int32_t>(rng, {1, 2, 3, 5}) : kh;
  const int32_t sh = pick<int32_t>(rng, {1, 2}), sw = rng.below(4) == 0 ? 3 - sh : sh;
  Padding p = rng.below(2) == 0 ? Padding::kSame : Padding::kValid;
  if (p == Padding::kValid && (kh > h || kw > w)) p = Padding::kSame;  // keep some output
  return make_window_shape({n, h, w, cin}, kh, kw, sh, sw, p, cout);
}

}  // namespace

TEST_CASE("conv2d_s8__simd matches conv2d_s8__ref on ResNet-8 shapes") {
  for_each_target([] {
    Rng rng(11);
    struct L {
      int h, cin, k, stride, cout;
    };
    const L layers[] = {{32, 3, 3, 1, 16},  {32, 16, 3, 1, 16}, {32, 16, 3, 2, 32}, {16, 32, 3, 1, 32},
                        {32, 16, 1, 2, 32}, {16, 32, 3, 2, 64}, {8, 64, 3, 1, 64},  {16, 32, 1, 2, 64}};
    for (const L& l : layers)
      for (bool harsh : {false, true}) {
        const WindowShape s =
            make_window_shape({1, l.h, l.h, l.cin}, l.k, l.k, l.stride, l.stride, Padding::kSame, l.cout);
        CHECK(check_conv(rng, s, harsh) == 0);
      }
  });
}

TEST_CASE("conv2d_s8__simd matches conv2d_s8__ref on seeded random layers") {
  for_each_target([] {
    Rng rng(12);
    int64_t outputs = 0;
    for (int i = 0; i < 300; ++i) {
      const int32_t cin = pick<int32_t>(rng, {1, 2, 3, 4, 5, 7, 8, 16, 17, 32});
      const int32_t cout = pick<int32_t>(rng, {1, 3, 5, 7, 8, 16, 17, 24, 31, 32, 33, 48, 64, 65});
      const WindowShape s = random_window(rng, cin, cout);
      CHECK(check_conv(rng, s, i % 2 == 1) == 0);
      outputs += s.output.size();
    }
    CHECK(outputs > 100000);  // the cases are not degenerate
  });
}

TEST_CASE("conv2d_s8__simd with input offsets beyond int8 zero points (the byte path's limit) still matches") {
  // Offsets in [-32640, 32640] are allowed (input + offset fits int16); the AVX512-VNNI
  // byte path only takes [-127, 128] and must hand the others to the int16 path.
  for_each_target([] {
    Rng rng(18);
    for (int32_t offset : {-129, 129, 300, -5000, 32640, -32640}) {
      const WindowShape s = make_window_shape({1, 6, 5, 7}, 3, 3, 1, 1, Padding::kSame, 9);
      Quant u = random_quant(rng, 9, false);
      u.q.input_offset = offset;
      const std::vector<int8_t> x = random_int8(rng, s.input.size());
      const std::vector<int8_t> f = random_int8(rng, int64_t{9} * 9 * 7);
      std::vector<int8_t> ref(static_cast<size_t>(s.output.size())), simd(ref.size());
      conv2d_s8__ref(s, u.q, x.data(), f.data(), u.bias.data(), ref.data());
      std::vector<int32_t> packed(static_cast<size_t>(conv2d_s8__simd_packed_size(s)));
      conv2d_s8__simd_pack_filter(s, f.data(), packed.data());
      std::vector<int32_t> scratch = dirty_scratch(rng, conv2d_s8__simd_scratch_size(s));
      conv2d_s8__simd(s, u.q, x.data(), packed.data(), u.bias.data(), simd.data(), scratch.data());
      CHECK(compare(ref, simd, "input offset " + std::to_string(offset)) == 0);
    }
  });
}

TEST_CASE("depthwise_conv2d_s8__simd matches depthwise_conv2d_s8__ref, multipliers 1 and 2") {
  for_each_target([] {
    Rng rng(13);
    int64_t outputs = 0;
    for (int i = 0; i < 200; ++i) {
      const int32_t cin = pick<int32_t>(rng, {1, 2, 3, 5, 7, 8, 16, 17, 32, 33, 64});
      const int32_t mult = pick<int32_t>(rng, {1, 1, 2, 3});
      const WindowShape s = random_window(rng, cin, cin * mult);
      CHECK(check_depthwise(rng, s, i % 2 == 1) == 0);
      outputs += s.output.size();
    }
    CHECK(outputs > 50000);
  });
}

TEST_CASE("dense_s8__simd matches dense_s8__ref") {
  for_each_target([] {
    Rng rng(14);
    for (int i = 0; i < 200; ++i) {
      const DenseShape s{pick<int32_t>(rng, {1, 1, 2, 3, 5}),
                         pick<int32_t>(rng, {1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 64, 100, 257}),
                         pick<int32_t>(rng, {1, 3, 4, 5, 7, 10, 16, 17, 33, 64})};
      CHECK(check_dense(rng, s, i % 2 == 1) == 0);
    }
  });
}

TEST_CASE("int8 simd kernels: every extreme of the requantization, exhaustively over offsets and shifts") {
  // A 1x1 conv with one input channel is a per-pixel affine map, so a 1 x 256 image of all
  // int8 values meets every multiplier/shift/zero-point corner here, with weights +-1 and
  // +-127 and a bias that pushes the accumulator to both ends of int32.
  for_each_target([] {
    const int32_t shifts[] = {-31, -30, -17, -1, 0, 1, 7, 15, 24, 30};
    const int32_t mults[] = {0, 1 << 30, (1 << 30) + 1, 1518500250, INT32_MAX};
    const int32_t biases[] = {0, 1000, -1000, INT32_MAX - 40000, INT32_MIN + 40000};
    std::vector<int8_t> x(256);
    for (int i = 0; i < 256; ++i) x[static_cast<size_t>(i)] = static_cast<int8_t>(i - 128);
    const WindowShape s = make_window_shape({1, 1, 256, 1}, 1, 1, 1, 1, Padding::kValid, 4);
    const int8_t f[4] = {1, -1, 127, -128};
    std::vector<int32_t> packed(static_cast<size_t>(conv2d_s8__simd_packed_size(s)));
    conv2d_s8__simd_pack_filter(s, f, packed.data());
    std::vector<int32_t> scratch(static_cast<size_t>(conv2d_s8__simd_scratch_size(s)));
    int64_t bad = 0, saturated = 0;
    for (RoundingMode mode : {RoundingMode::kDouble, RoundingMode::kSingle})
      for (int32_t shift : shifts)
        for (int32_t mult : mults)
          for (int32_t b : biases)
            for (int32_t zp : {-128, 0, 127}) {
              const int32_t m4[4] = {mult, mult, mult, mult}, s4[4] = {shift, shift, shift, shift};
              const int32_t bias[4] = {b, -b, b, b};
              const ConvQuantParams q{-zp, -zp, m4, s4, true, -128, 127, mode};
              std::vector<int8_t> ref(1024), simd(1024);
              conv2d_s8__ref(s, q, x.data(), f, bias, ref.data());
              conv2d_s8__simd(s, q, x.data(), packed.data(), bias, simd.data(), scratch.data());
              bad += compare(ref, simd, "exhaustive shift " + std::to_string(shift) + " mult " + std::to_string(mult));
              saturated +=
                  std::count(ref.begin(), ref.end(), int8_t{127}) + std::count(ref.begin(), ref.end(), int8_t{-128});
            }
    CHECK(bad == 0);
    CHECK(saturated > 10000);  // the corners really are reached
  });
}

TEST_CASE("add_s8__simd matches add_s8__ref, including in place") {
  for_each_target([] {
    Rng rng(16);
    for (int i = 0; i < 300; ++i) {
      const bool harsh = i % 2 == 1;
      const auto zp = [&] {
        return harsh ? pick<int32_t>(rng, {-128, 127, uniform_int(rng, -128, 127)}) : uniform_int(rng, -30, 30);
      };
      // TFLite-like: inputs scaled by <= 0.5 (shift <= -1) after the 2^20 headroom, output by
      // about 2^-20; harsh: any multiplier and shift, so the sums saturate and wrap.
      const auto mult = [&] {
        return harsh ? pick<int32_t>(rng,
                                     {0, 1 << 30, INT32_MAX, static_cast<int32_t>((1u << 30) + (rng.next_u32() >> 2))})
                     : static_cast<int32_t>((1u << 30) + (rng.next_u32() >> 2));
      };
      AddQuantParams q{};
      q.left_shift = harsh ? uniform_int(rng, 0, 22) : 20;
      q.input1_offset = -zp(), q.input2_offset = -zp(), q.output_offset = zp();
      q.input1_multiplier = mult(), q.input2_multiplier = mult(), q.output_multiplier = mult();
      q.input1_shift = harsh ? uniform_int(rng, -31, 30) : uniform_int(rng, -4, -1);
      q.input2_shift = harsh ? uniform_int(rng, -31, 30) : uniform_int(rng, -4, -1);
      q.output_shift = harsh ? uniform_int(rng, -31, 30) : uniform_int(rng, -22, -17);
      const int32_t a = uniform_int(rng, -128, 127), b = uniform_int(rng, -128, 127);
      q.activation_min = rng.below(2) ? std::min(a, b) : -128;
      q.activation_max = rng.below(2) ? std::max(a, b) : 127;
      q.rounding = rng.below(2) == 0 ? RoundingMode::kDouble : RoundingMode::kSingle;
      const int64_t count = pick<int64_t>(rng, {1, 3, 15, 16, 17, 63, 64, 65, 200, 1000});
      const std::vector<int8_t> x = random_int8(rng, count), y = random_int8(rng, count);
      std::vector<int8_t> ref(static_cast<size_t>(count)), simd(ref.size(), 3);
      add_s8__ref(count, q, x.data(), y.data(), ref.data());
      add_s8__simd(count, q, x.data(), y.data(), simd.data());
      const std::string what = "add count " + std::to_string(count) + " shifts " + std::to_string(q.input1_shift) +
                               "," + std::to_string(q.input2_shift) + "," + std::to_string(q.output_shift) +
                               " rounding " + std::to_string(static_cast<int>(q.rounding));
      CHECK(compare(ref, simd, what) == 0);
      std::vector<int8_t> inplace = x;  // output aliases input1
      add_s8__simd(count, q, inplace.data(), y.data(), inplace.data());
      CHECK(compare(ref, inplace, what + " in place") == 0);
    }
  });
}

TEST_CASE("max_pool2d_s8__simd matches max_pool2d_s8__ref") {
  for_each_target([] {
    Rng rng(17);
    for (int i = 0; i < 200; ++i) {
      const int32_t c = pick<int32_t>(rng, {1, 3, 7, 15, 16, 17, 31, 32, 33, 64, 65, 100, 129});
      const WindowShape s = random_window(rng, c, c);
      const int32_t a = uniform_int(rng, -128, 127), b = uniform_int(rng, -128, 127);
      const PoolQuantParams q =
          rng.below(2) ? PoolQuantParams{-128, 127} : PoolQuantParams{std::min(a, b), std::max(a, b)};
      const std::vector<int8_t> x = random_int8(rng, s.input.size());
      std::vector<int8_t> ref(static_cast<size_t>(s.output.size()), 1), simd(ref.size(), 2);
      max_pool2d_s8__ref(s, q, x.data(), ref.data());
      max_pool2d_s8__simd(s, q, x.data(), simd.data());
      CHECK(compare(ref, simd, "max pool " + describe(s)) == 0);
    }
  });
}
