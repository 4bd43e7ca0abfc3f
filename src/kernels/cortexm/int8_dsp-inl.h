// Internal helpers shared by the Cortex-M DSP int8 kernels (conv2d_s8__dsp,
// depthwise_conv2d_s8__dsp, dense_s8__dsp): int8 -> int16 widening with the input offset,
// the 2x2 (columns x output channels) SMLAD dot-product block, and the requantization
// epilogue, which calls quant/fixed_point.h exactly as the reference kernels do.
// Only for cores with the DSP extension (__ARM_FEATURE_DSP: M4, M7, M33, M55).
//
// Operand order. SXTB16 widens bytes 0 and 2 of a word into one register and, on the
// word rotated by 8, bytes 1 and 3 into another. Every 4-element group of a widened
// vector ("column") is therefore stored as the int16 pairs (x0, x2), (x1, x3), and a
// weight word w0..w3 read from the int8 filter widens to the matching pairs (w0, w2),
// (w1, w3), so SMLAD pairs the right products with no shuffle. A widened column of K
// elements holds K / 4 such groups, then the K % 4 tail elements in natural order; two
// columns are interleaved group by group (block_slot below).
#pragma once

#if !defined(__ARM_FEATURE_DSP)
#error "int8_dsp-inl.h needs the Cortex-M DSP extension (__ARM_FEATURE_DSP)"
#endif

#include <arm_acle.h>

#include <cstdint>
#include <cstring>

#include "kernels/quant_params.h"
#include "quant/fixed_point.h"

namespace slingshot::dsp_s8 {

// The int16 path needs int8 + input_offset to fit int16 (an int8 zero point always
// does); other offsets go to the reference kernel.
inline bool offset_fits_int16(int32_t input_offset) { return input_offset >= -32640 && input_offset <= 32639; }

// Unaligned 32-bit load (M4/M7 LDR accepts any alignment; memcpy compiles to one LDR).
inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store_u32(void* p, uint32_t v) { std::memcpy(p, &v, 4); }

// SXTB16 and SXTAB16 on the word rotated right by 8. GCC 12's arm_acle.h has no __ror,
// and it does not fold a separate rotate into the instruction's free rotation field, so
// the rotated forms are spelled in asm: one instruction instead of two.
inline int32_t sxtb16_ror8(uint32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
inline int32_t sxtab16_ror8(int32_t a, uint32_t x) {
  int32_t r;
  __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
  return r;
}

// Both halves of an int16 pair set to `v`.
inline int32_t pair_of(int32_t v) { return static_cast<int32_t>((static_cast<uint32_t>(v) & 0xFFFFu) * 0x10001u); }

// Layout of the widened block of `cols` (1 or 2) columns of K elements each: group g
// (elements 4g .. 4g+3) of column j at int16 offset 8g + 4j (4g when cols == 1), so one
// pointer walks both columns; then each column's K % 4 tail elements, column 0 first.
// Slot of natural element k of column j, `groups_end` = K rounded down to 4:
inline int32_t block_slot(int32_t k, int32_t j, int32_t cols, int32_t groups_end, int32_t tail) {
  if (k >= groups_end) return groups_end * cols + j * tail + (k - groups_end);
  return (k >> 2) * 4 * cols + j * 4 + ((k & 1) << 1) + ((k >> 1) & 1);
}

// Widens `count` int8 values that land at natural indices k0 .. k0+count-1 of column j,
// one element at a time with no alignment assumption: K % 4 tails, and conv's im2col for
// channel counts not a multiple of 4 when the zero point cannot pad. A null `src` writes
// zeros (padded taps).
inline void widen_scattered(const int8_t* src, int32_t count, int32_t k0, int32_t j, int32_t cols, int32_t k,
                            int32_t input_offset, int16_t* block) {
  const int32_t groups_end = k & ~3, tail = k & 3;
  for (int32_t i = 0; i < count; ++i)
    block[block_slot(k0 + i, j, cols, groups_end, tail)] = src ? static_cast<int16_t>(src[i] + input_offset) : 0;
}

// Widens `count` int8 values (a multiple of 4) in group order into column j of a block
// whose element k0 (a multiple of 4) is at `dst` = block + block_slot(k0, j, ...).
inline void widen_groups_strided(const int8_t* src, int32_t count, int32_t offset2, int32_t cols, int16_t* dst) {
  const int32_t step = 4 * cols;
  for (int32_t i = 0; i < count; i += 4, dst += step) {
    const uint32_t v = load_u32(src + i);
    store_u32(dst, static_cast<uint32_t>(__sxtab16(offset2, static_cast<int32_t>(v))));
    store_u32(dst + 2, static_cast<uint32_t>(sxtab16_ror8(offset2, v)));
  }
}
inline void zero_groups_strided(int32_t count, int32_t cols, int16_t* dst) {
  const int32_t step = 4 * cols;
  for (int32_t i = 0; i < count; i += 4, dst += step) {
    store_u32(dst, 0);
    store_u32(dst + 2, 0);
  }
}

// The asm below needs all 14 allocatable registers; unoptimized builds keep r7 as the
// frame pointer, so they run the same loop in C.
#if defined(__OPTIMIZE__)
#define SLING_DSP_2X2_ASM 1
#else
#define SLING_DSP_2X2_ASM 0
#endif

#if SLING_DSP_2X2_ASM
// The hot loop of conv and dense: `groups` (> 0) groups of 4 elements of two weight rows
// (the second k bytes after the first) against the two interleaved columns at `c`,
// accumulated into a00 (row 0, column 0), a01, a10, a11; advances w and c past them.
// Per group: 2 LDR + 2 LDRD + 4 SXTB16 + 8 SMLAD = 16 instructions for 16 MACs, plus the
// loop branch once per two groups. In asm because it needs all 14 allocatable registers
// (4 accumulators, 4 widened weight pairs, 2 column words, w, c, k, end), and GCC 12
// spilled a third of the loop to the stack when it was written with the same intrinsics.
#define SLING_DSP_2X2_GROUP                                \
  "ldr    %[wb_odd], [%[w], %[k]]\n\t"                     \
  "ldr    %[wa_odd], [%[w]], #4\n\t"                       \
  "sxtb16 %[wb_even], %[wb_odd]\n\t"                       \
  "sxtb16 %[wb_odd], %[wb_odd], ror #8\n\t"                \
  "sxtb16 %[wa_even], %[wa_odd]\n\t"                       \
  "sxtb16 %[wa_odd], %[wa_odd], ror #8\n\t"                \
  "ldrd   %[x_even], %[x_odd], [%[c], #8]\n\t"             \
  "smlad  %[a01], %[wa_even], %[x_even], %[a01]\n\t"       \
  "smlad  %[a01], %[wa_odd], %[x_odd], %[a01]\n\t"         \
  "smlad  %[a11], %[wb_even], %[x_even], %[a11]\n\t"       \
  "smlad  %[a11], %[wb_odd], %[x_odd], %[a11]\n\t"         \
  "ldrd   %[x_even], %[x_odd], [%[c]], #16\n\t"            \
  "smlad  %[a00], %[wa_even], %[x_even], %[a00]\n\t"       \
  "smlad  %[a00], %[wa_odd], %[x_odd], %[a00]\n\t"         \
  "smlad  %[a10], %[wb_even], %[x_even], %[a10]\n\t"       \
  "smlad  %[a10], %[wb_odd], %[x_odd], %[a10]\n\t"
inline void dot_2x2_groups(const int8_t*& w, int32_t k, const uint32_t*& c, int32_t groups, int32_t& a00,
                           int32_t& a01, int32_t& a10, int32_t& a11) {
  int32_t wa_even, wa_odd, wb_even, wb_odd, x_even, x_odd;
  if (groups & 1) {
    __asm__(SLING_DSP_2X2_GROUP
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w] "+r"(w), [c] "+r"(c),
              [wa_even] "=&r"(wa_even), [wa_odd] "=&r"(wa_odd), [wb_even] "=&r"(wb_even), [wb_odd] "=&r"(wb_odd),
              [x_even] "=&r"(x_even), [x_odd] "=&r"(x_odd)
            : [k] "r"(k)
            : "memory");
  }
  if (groups < 2) return;
  const int8_t* const w_end = w + 4 * (groups & ~1);
  __asm__("1:\n\t" SLING_DSP_2X2_GROUP SLING_DSP_2X2_GROUP
          "cmp    %[w], %[w_end]\n\t"
          "bne    1b"
          : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w] "+r"(w), [c] "+r"(c),
            [wa_even] "=&r"(wa_even), [wa_odd] "=&r"(wa_odd), [wb_even] "=&r"(wb_even), [wb_odd] "=&r"(wb_odd),
            [x_even] "=&r"(x_even), [x_odd] "=&r"(x_odd)
          : [k] "r"(k), [w_end] "r"(w_end)
          : "cc", "memory");
}
#undef SLING_DSP_2X2_GROUP
#endif  // SLING_DSP_2X2_ASM

// acc + the dot product of the widened weight pairs with the column words (even, odd).
inline int32_t dot_pairs(int32_t w_even, int32_t w_odd, uint32_t x_even, uint32_t x_odd, int32_t acc) {
  return __smlad(w_odd, static_cast<int32_t>(x_odd), __smlad(w_even, static_cast<int32_t>(x_even), acc));
}

// Dot products of `kChans` consecutive weight rows (int8, natural order, k apart) with
// the `kCols` columns of a widened block (kCols, kChans in {1, 2}), added to
// acc[ch][col]. The k / 4 groups go through SMLAD, then the tail. The loop keeps all
// operands in registers: one block pointer, the second weight row addressed from the
// first, four accumulators, four widened weight pairs and two column words.
template <int kCols, int kChans>
inline void dot_block(const int8_t* weights, int32_t k, const int16_t* block, int32_t (&acc)[2][2]) {
  const int8_t* w = weights;
  const int8_t* const w_groups_end = weights + (k & ~3);
  const auto* c = reinterpret_cast<const uint32_t*>(block);  // 4-byte aligned
  int32_t a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
  constexpr bool kAsm = kCols == 2 && kChans == 2 && SLING_DSP_2X2_ASM;
#if SLING_DSP_2X2_ASM
  if constexpr (kAsm) {
    if (k >= 4) dot_2x2_groups(w, k, c, k >> 2, a00, a01, a10, a11);
  }
#endif
  // The edge blocks (an odd last channel or pixel), and the 2x2 block without the asm,
  // with the same intrinsics in C.
  // (The block was written as int16: its words are read through memcpy, not uint32_t*.)
  for (; !kAsm && w != w_groups_end; w += 4, c += 2 * kCols) {
    const uint32_t wa = load_u32(w);
    const int32_t wa_even = __sxtb16(static_cast<int32_t>(wa)), wa_odd = sxtb16_ror8(wa);
    const uint32_t x0_even = load_u32(c), x0_odd = load_u32(c + 1);
    a00 = dot_pairs(wa_even, wa_odd, x0_even, x0_odd, a00);
    if constexpr (kCols > 1) a01 = dot_pairs(wa_even, wa_odd, load_u32(c + 2), load_u32(c + 3), a01);
    if constexpr (kChans > 1) {
      const uint32_t wb = load_u32(w + k);
      const int32_t wb_even = __sxtb16(static_cast<int32_t>(wb)), wb_odd = sxtb16_ror8(wb);
      a10 = dot_pairs(wb_even, wb_odd, x0_even, x0_odd, a10);
      if constexpr (kCols > 1) a11 = dot_pairs(wb_even, wb_odd, load_u32(c + 2), load_u32(c + 3), a11);
    }
  }
  const int32_t tail = k & 3;
  const auto* x0 = reinterpret_cast<const int16_t*>(c);
  const int16_t* x1 = x0 + tail;
  for (int32_t t = 0; t < tail; ++t) {
    const int32_t wa = w[t];
    a00 += wa * x0[t];
    if constexpr (kCols > 1) a01 += wa * x1[t];
    if constexpr (kChans > 1) {
      const int32_t wb = w[k + t];
      a10 += wb * x0[t];
      if constexpr (kCols > 1) a11 += wb * x1[t];
    }
  }
  acc[0][0] = a00;
  acc[0][1] = a01;
  acc[1][0] = a10;
  acc[1][1] = a11;
}

// The reference kernels' epilogue: multiply_by_quantized_multiplier, output offset,
// clamp. The parameters are copied out of q once per call: stores of int8 outputs may
// alias anything, so read through q they would be reloaded for every output. kMode is
// q.rounding, fixed at compile time so each mode gets straight code.
template <RoundingMode kMode>
struct Requantizer {
  const int32_t* multiplier;  // q.output_multiplier
  const int32_t* shift;       // q.output_shift
  int32_t channel_step;       // 1 per-channel, 0 per-tensor
  int32_t output_offset, activation_min, activation_max;

  explicit Requantizer(const ConvQuantParams& q)
      : multiplier(q.output_multiplier),
        shift(q.output_shift),
        channel_step(q.per_channel ? 1 : 0),
        output_offset(q.output_offset),
        activation_min(q.activation_min),
        activation_max(q.activation_max) {}

  int32_t multiplier_of(int32_t ch) const { return multiplier[ch * channel_step]; }
  int32_t shift_of(int32_t ch) const { return shift[ch * channel_step]; }
  // With the channel's multiplier m and shift sh already loaded.
  int8_t apply(int32_t acc, int32_t m, int32_t sh) const {
    const int32_t v = multiply_by_quantized_multiplier(acc, m, sh, kMode);
    return static_cast<int8_t>(clamp_to_range(v + output_offset, activation_min, activation_max));
  }
  int8_t operator()(int32_t acc, int32_t ch) const { return apply(acc, multiplier_of(ch), shift_of(ch)); }
};

// Runs fn.template operator()<kMode>() for the call's rounding mode.
template <class Fn>
inline void with_rounding(RoundingMode mode, Fn&& fn) {
  if (mode == RoundingMode::kSingle)
    fn.template operator()<RoundingMode::kSingle>();
  else
    fn.template operator()<RoundingMode::kDouble>();
}

// Requantizes `chans` accumulators of each of kCols (1 or 2) columns into out_j + 0 ..
// chans-1. A separate pass over the stored accumulators: inside the 2x2 block the
// requantization had too few free registers and GCC spilled its operands.
template <int kCols, RoundingMode kMode>
inline void requantize_columns(const Requantizer<kMode> rq, const int32_t* acc_0, const int32_t* acc_1,
                               int32_t chans, int8_t* out_0, int8_t* out_1) {
  for (int32_t oc = 0; oc < chans; ++oc) {
    const int32_t m = rq.multiplier_of(oc), sh = rq.shift_of(oc);
    // Both branches run the same code; in the first, the usual case, the compiler knows
    // the multiplier is not negative and the shift is a right shift, which removes the
    // left-shift path and the INT32_MIN * INT32_MIN test from the inlined helper
    // (34 instead of 41 instructions per output on the M4; a test inside apply() was not
    // hoisted out of the two calls).
    if (m >= 0 && sh <= 0) {
      out_0[oc] = rq.apply(acc_0[oc], m, sh);
      if constexpr (kCols > 1) out_1[oc] = rq.apply(acc_1[oc], m, sh);
    } else {
      out_0[oc] = rq.apply(acc_0[oc], m, sh);
      if constexpr (kCols > 1) out_1[oc] = rq.apply(acc_1[oc], m, sh);
    }
  }
}

// Accumulators of output channels oc .. oc + kChans - 1 (kChans 1 or 2) for the `cols`
// (1 or 2) columns of a widened block, bias included, stored to acc_j[oc + ...].
template <int kChans>
inline void accumulate_channels(const int8_t* weights, int32_t k, int32_t oc, const int32_t* bias,
                                const int16_t* block, int32_t cols, int32_t* acc_0, int32_t* acc_1) {
  int32_t block_acc[2][2] = {};
  for (int32_t c = 0; c < kChans; ++c) block_acc[c][0] = block_acc[c][1] = bias ? bias[oc + c] : 0;
  const int8_t* w = weights + oc * k;
  if (cols == 2)
    dot_block<2, kChans>(w, k, block, block_acc);
  else
    dot_block<1, kChans>(w, k, block, block_acc);
  for (int32_t c = 0; c < kChans; ++c) {
    acc_0[oc + c] = block_acc[c][0];
    acc_1[oc + c] = block_acc[c][1];
  }
}

// Multiplies `chans` consecutive weight rows with the `cols` (1 or 2) columns of a
// widened block and writes the requantized outputs: column j's go to out_j + 0 .. chans-1
// (out_1 unused for one column). Channels are taken two at a time; `bias` may be null.
// `acc` holds 2 * chans int32 (the raw accumulators of both columns).
template <RoundingMode kMode>
inline void gemm_columns(const Requantizer<kMode> rq, const int8_t* weights, int32_t k, int32_t chans,
                         const int32_t* bias, const int16_t* block, int32_t cols, int8_t* out_0, int8_t* out_1,
                         int32_t* acc) {
  int32_t* const acc_0 = acc;
  int32_t* const acc_1 = acc + chans;
  int32_t oc = 0;
  for (; oc + 2 <= chans; oc += 2) accumulate_channels<2>(weights, k, oc, bias, block, cols, acc_0, acc_1);
  if (oc < chans) accumulate_channels<1>(weights, k, oc, bias, block, cols, acc_0, acc_1);
  if (cols == 2)
    requantize_columns<2>(rq, acc_0, acc_1, chans, out_0, out_1);
  else
    requantize_columns<1>(rq, acc_0, acc_1, chans, out_0, out_1);
}

}  // namespace slingshot::dsp_s8
