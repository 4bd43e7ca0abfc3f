// Kernel-equivalence firmware (ctest cortexm_dsp_equivalence_m4 / _m7): runs seeded random
// int8 layers through the reference kernels and the Cortex-M DSP variants
// (conv2d_s8__dsp, depthwise_conv2d_s8__dsp, dense_s8__dsp) and compares every output
// byte. It also checks that the DSP kernels write nothing past the output and the scratch
// size they declared. Prints one line per kernel and a summary; exits 1 on any mismatch.
// Usage (QEMU semihosting): the firmware takes no arguments; the seed is fixed.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/rng.h"
#include "kernels/cortexm/conv2d_s8__dsp.h"
#include "kernels/cortexm/dense_s8__dsp.h"
#include "kernels/cortexm/depthwise_conv2d_s8__dsp.h"
#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"

namespace slingshot {
namespace {

constexpr uint64_t kSeed = 20261122;
constexpr int kConvLayers = 240, kDepthwiseLayers = 120, kDenseLayers = 120;

// Static buffers (no heap), sized for the largest layer the generator makes.
constexpr int32_t kMaxActivation = 3 * 13 * 13 * 40;
constexpr int32_t kMaxFilter = 40 * 5 * 5 * 40;
constexpr int32_t kMaxChannels = 160;
constexpr int32_t kGuard = 64;        // bytes checked past each output and scratch
constexpr uint8_t kSentinel = 0xA5;   // fill of outputs and guards before a call
// Accumulators (2 x channels int32), a widened block (2 x K int16) and K staging bytes.
constexpr int32_t kMaxScratchBytes = 2 * 4 * kMaxChannels + 2 * 2 * 1000 + 1000;

int8_t g_input[kMaxActivation];
int8_t g_filter[kMaxFilter];
int32_t g_bias[kMaxChannels];
int32_t g_multiplier[kMaxChannels];
int32_t g_shift[kMaxChannels];
int8_t g_out_ref[kMaxActivation + kGuard];
int8_t g_out_dsp[kMaxActivation + kGuard];
int32_t g_scratch[(kMaxScratchBytes + kGuard) / 4];

int32_t uniform_int(Rng& rng, int32_t lo, int32_t hi) {  // inclusive
  return lo + static_cast<int32_t>(rng.below(static_cast<uint32_t>(hi - lo + 1)));
}
int32_t pick(Rng& rng, const int32_t* values, int32_t n) { return values[rng.below(static_cast<uint32_t>(n))]; }

void fill_s8(Rng& rng, int8_t* data, int32_t n) {
  for (int32_t i = 0; i < n; ++i) data[i] = static_cast<int8_t>(uniform_int(rng, -128, 127));
}

// Random requantization with the corner cases the kernels must reproduce: both rounding
// modes, per-channel or per-tensor, zero multipliers, negative and positive shifts, any
// zero points, narrow clamps (ReLU-like). Returns whether bias is used.
bool random_quant(Rng& rng, int32_t channels, ConvQuantParams& q) {
  q.input_offset = -uniform_int(rng, -128, 127);
  // Off-contract offsets (no int8 zero point gives them) must still match the reference:
  // inside int16 they take the DSP kernels' general paths, beyond it the reference fallback.
  if (rng.below(8) == 0) q.input_offset = uniform_int(rng, -20000, 20000);
  if (rng.below(40) == 0) q.input_offset = rng.below(2) ? 40000 : -40000;
  q.output_offset = uniform_int(rng, -128, 127);
  q.per_channel = rng.below(3) != 0;
  const int32_t entries = q.per_channel ? channels : 1;
  for (int32_t c = 0; c < entries; ++c) {
    g_multiplier[c] = rng.below(25) == 0 ? 0 : static_cast<int32_t>((1u << 30) + rng.below(1u << 30));
    // Mostly the realistic range (scales 2^-12 .. 2^-4), sometimes extremes both ways.
    g_shift[c] = rng.below(8) == 0 ? uniform_int(rng, -31, 6) : uniform_int(rng, -12, -4);
  }
  q.output_multiplier = g_multiplier;
  q.output_shift = g_shift;
  q.activation_min = rng.below(3) == 0 ? uniform_int(rng, -128, 0) : -128;
  q.activation_max = rng.below(3) == 0 ? uniform_int(rng, q.activation_min, 127) : 127;
  q.rounding = rng.below(2) ? RoundingMode::kDouble : RoundingMode::kSingle;
  const bool with_bias = rng.below(5) != 0;
  for (int32_t c = 0; c < channels; ++c) g_bias[c] = uniform_int(rng, -40000, 40000);
  return with_bias;
}

struct Tally {
  const char* name;
  int layers = 0;
  int mismatched_layers = 0;
  int64_t outputs = 0;
  int64_t mismatched_bytes = 0;
  int guard_violations = 0;
};

void prepare_outputs(int64_t count, int32_t scratch_bytes) {
  std::memset(g_out_ref, kSentinel, static_cast<size_t>(count + kGuard));
  std::memset(g_out_dsp, kSentinel, static_cast<size_t>(count + kGuard));
  std::memset(g_scratch, kSentinel, static_cast<size_t>(scratch_bytes + kGuard));
}

bool guard_intact(const void* base, int64_t used) {
  const auto* p = static_cast<const uint8_t*>(base) + used;
  for (int32_t i = 0; i < kGuard; ++i)
    if (p[i] != kSentinel) return false;
  return true;
}

// Compares one layer's outputs; prints the first differing byte of a failing layer.
void compare(Tally& t, int index, const char* what, int64_t count, int32_t scratch_bytes) {
  ++t.layers;
  t.outputs += count;
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < count; ++i)
    if (g_out_ref[i] != g_out_dsp[i]) {
      if (first < 0) first = i;
      ++bad;
    }
  const bool guards = guard_intact(g_out_dsp, count) && guard_intact(g_scratch, scratch_bytes);
  if (!guards) ++t.guard_violations;
  if (bad || !guards) {
    ++t.mismatched_layers;
    t.mismatched_bytes += bad;
    std::printf("MISMATCH %s #%d %s: %lld of %lld bytes differ", t.name, index, what,
                static_cast<long long>(bad), static_cast<long long>(count));
    if (first >= 0)
      std::printf(" (first at %lld: ref %d, dsp %d)", static_cast<long long>(first), g_out_ref[first],
                  g_out_dsp[first]);
    if (!guards) std::printf(" [wrote past its output or scratch]");
    std::printf("\n");
  }
}

// A window layer: odd sizes, kernels 1/3/5 (sometimes non-square), strides 1/2, SAME
// and VALID, batch 1..3; geometry redrawn until the buffers hold it.
WindowShape random_window(Rng& rng, int32_t cin, int32_t cout) {
  static const int32_t kKernels[] = {1, 3, 3, 5};
  for (;;) {
    const int32_t kh = pick(rng, kKernels, 4), kw = rng.below(4) == 0 ? pick(rng, kKernels, 4) : kh;
    const Dims4 in{uniform_int(rng, 1, 3), uniform_int(rng, 1, 13), uniform_int(rng, 1, 13), cin};
    const int32_t sh = uniform_int(rng, 1, 2), sw = rng.below(4) == 0 ? uniform_int(rng, 1, 2) : sh;
    const Padding pad = rng.below(3) == 0 ? Padding::kValid : Padding::kSame;
    const WindowShape s = make_window_shape(in, kh, kw, sh, sw, pad, cout);
    if (in.size() <= kMaxActivation && s.output.size() <= kMaxActivation) return s;
  }
}

void print_window(char* buf, size_t n, const WindowShape& s, const ConvQuantParams& q) {
  std::snprintf(buf, n, "in %ldx%ldx%ldx%ld out c%ld k%ldx%ld s%ldx%ld pad %ld,%ld offset %ld %s %s", (long)s.input.n,
                (long)s.input.h, (long)s.input.w, (long)s.input.c, (long)s.output.c, (long)s.kernel_h,
                (long)s.kernel_w, (long)s.stride_h, (long)s.stride_w, (long)s.pad_top, (long)s.pad_left,
                (long)q.input_offset, q.rounding == RoundingMode::kDouble ? "double" : "single", q.per_channel ? "per-channel" : "per-tensor");
}

void test_conv(Rng& rng, Tally& t) {
  static const int32_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 12, 16, 17, 32, 40};
  for (int i = 0; i < kConvLayers; ++i) {
    const int32_t cin = pick(rng, kChannels, 12), cout = uniform_int(rng, 1, 40);
    const WindowShape s = random_window(rng, cin, cout);
    ConvQuantParams q{};
    const bool with_bias = random_quant(rng, cout, q);
    fill_s8(rng, g_input, static_cast<int32_t>(s.input.size()));
    fill_s8(rng, g_filter, cout * s.kernel_h * s.kernel_w * cin);
    const int32_t scratch_bytes = conv2d_s8__dsp_scratch_bytes(s);
    prepare_outputs(s.output.size(), scratch_bytes);
    const int32_t* bias = with_bias ? g_bias : nullptr;
    conv2d_s8__ref(s, q, g_input, g_filter, bias, g_out_ref);
    conv2d_s8__dsp(s, q, g_input, g_filter, bias, g_out_dsp, g_scratch);
    char what[160];
    print_window(what, sizeof what, s, q);
    compare(t, i, what, s.output.size(), scratch_bytes);
  }
}

void test_depthwise(Rng& rng, Tally& t) {
  static const int32_t kChannels[] = {1, 2, 3, 4, 5, 8, 12, 13, 16, 32};
  for (int i = 0; i < kDepthwiseLayers; ++i) {
    const int32_t cin = pick(rng, kChannels, 10);
    const int32_t mult = rng.below(4) == 0 ? uniform_int(rng, 2, 3) : 1;
    const WindowShape s = random_window(rng, cin, cin * mult);
    ConvQuantParams q{};
    const bool with_bias = random_quant(rng, cin * mult, q);
    fill_s8(rng, g_input, static_cast<int32_t>(s.input.size()));
    fill_s8(rng, g_filter, s.kernel_h * s.kernel_w * cin * mult);
    prepare_outputs(s.output.size(), 0);
    const int32_t* bias = with_bias ? g_bias : nullptr;
    depthwise_conv2d_s8__ref(s, q, g_input, g_filter, bias, g_out_ref);
    depthwise_conv2d_s8__dsp(s, q, g_input, g_filter, bias, g_out_dsp);
    char what[160];
    print_window(what, sizeof what, s, q);
    compare(t, i, what, s.output.size(), 0);
  }
}

void test_dense(Rng& rng, Tally& t) {
  for (int i = 0; i < kDenseLayers; ++i) {
    DenseShape s{uniform_int(rng, 1, 4), uniform_int(rng, 1, 1000), uniform_int(rng, 1, 40)};
    while (s.in_dim * s.out_dim > kMaxFilter || s.batch * s.in_dim > kMaxActivation) s.in_dim /= 2;
    ConvQuantParams q{};
    const bool with_bias = random_quant(rng, s.out_dim, q);
    fill_s8(rng, g_input, s.batch * s.in_dim);
    fill_s8(rng, g_filter, s.out_dim * s.in_dim);
    const int32_t scratch_bytes = dense_s8__dsp_scratch_bytes(s);
    prepare_outputs(static_cast<int64_t>(s.batch) * s.out_dim, scratch_bytes);
    const int32_t* bias = with_bias ? g_bias : nullptr;
    dense_s8__ref(s, q, g_input, g_filter, bias, g_out_ref);
    dense_s8__dsp(s, q, g_input, g_filter, bias, g_out_dsp, g_scratch);
    char what[160];
    std::snprintf(what, sizeof what, "batch %ld in %ld out %ld %s %s", (long)s.batch, (long)s.in_dim,
                  (long)s.out_dim, q.rounding == RoundingMode::kDouble ? "double" : "single",
                  q.per_channel ? "per-channel" : "per-tensor");
    compare(t, i, what, static_cast<int64_t>(s.batch) * s.out_dim, scratch_bytes);
  }
}

}  // namespace
}  // namespace slingshot

int main() {
  using namespace slingshot;
  Rng rng(kSeed);
  Tally tallies[3] = {{"conv2d_s8"}, {"depthwise_conv2d_s8"}, {"dense_s8"}};
  test_conv(rng, tallies[0]);
  test_depthwise(rng, tallies[1]);
  test_dense(rng, tallies[2]);
  int layers = 0, bad_layers = 0;
  for (const Tally& t : tallies) {
    std::printf("%s: %d layers, %lld outputs, %d mismatched layers (%lld bytes, %d guard overruns)\n", t.name,
                t.layers, static_cast<long long>(t.outputs), t.mismatched_layers,
                static_cast<long long>(t.mismatched_bytes), t.guard_violations);
    layers += t.layers;
    bad_layers += t.mismatched_layers;
  }
  std::printf("%s: %d layers, %d mismatched (seed %llu)\n", bad_layers ? "FAIL" : "PASS", layers, bad_layers,
              static_cast<unsigned long long>(kSeed));
  std::fflush(stdout);
  std::exit(bad_layers ? 1 : 0);
}
