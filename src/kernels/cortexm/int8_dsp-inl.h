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
// (w1, w3), so SMLAD pairs the right products with no shuffle. A column of K elements
// holds K / 4 such groups, then the K % 4 tail elements in natural order.
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

// Widens `count` int8 values (a multiple of 4) to int16 value + offset in the
// group order above. `offset2` = pair_of(input_offset).
inline void widen_groups(const int8_t* src, int32_t count, int32_t offset2, int16_t* dst) {
  for (int32_t i = 0; i < count; i += 4) {
    const uint32_t v = load_u32(src + i);
    store_u32(dst + i, static_cast<uint32_t>(__sxtab16(offset2, static_cast<int32_t>(v))));
    store_u32(dst + i + 2, static_cast<uint32_t>(sxtab16_ror8(offset2, v)));
  }
}

// Position in a column of the element at natural index k (swaps bits 0 and 1 of k inside
// the full groups; tail elements stay put). `groups_end` = K rounded down to 4.
inline int32_t column_slot(int32_t k, int32_t groups_end) {
  return k < groups_end ? (k & ~3) | ((k & 1) << 1) | ((k >> 1) & 1) : k;
}

// Widens `count` int8 values that land at natural column indices k0 .. k0+count-1 of a
// column with no alignment assumption (slow path: channel counts not a multiple of 4).
inline void widen_scattered(const int8_t* src, int32_t count, int32_t k0, int32_t groups_end, int32_t input_offset,
                            int16_t* column) {
  for (int32_t i = 0; i < count; ++i)
    column[column_slot(k0 + i, groups_end)] = static_cast<int16_t>(src[i] + input_offset);
}
inline void zero_scattered(int32_t count, int32_t k0, int32_t groups_end, int16_t* column) {
  for (int32_t i = 0; i < count; ++i) column[column_slot(k0 + i, groups_end)] = 0;
}

// Dot products of `kChans` consecutive weight rows (int8, natural order, `row_stride`
// apart) with `kCols` widened columns (kCols, kChans in {1, 2}), added to acc[ch][col].
// `k` is the row length: k / 4 groups through SMLAD, then the tail.
template <int kCols, int kChans>
inline void dot_block(const int8_t* weights, int32_t row_stride, const int16_t* const* columns, int32_t k,
                      int32_t (&acc)[2][2]) {
  const int8_t* w0 = weights;
  const int8_t* w1 = weights + (kChans > 1 ? row_stride : 0);
  const int16_t* c0 = columns[0];
  const int16_t* c1 = columns[kCols > 1 ? 1 : 0];
  int32_t a00 = acc[0][0], a01 = acc[0][1], a10 = acc[1][0], a11 = acc[1][1];
  for (int32_t g = k >> 2; g > 0; --g) {
    const uint32_t x0lo = load_u32(c0), x0hi = load_u32(c0 + 2);
    c0 += 4;
    const uint32_t wa = load_u32(w0);
    w0 += 4;
    const int32_t wa_even = __sxtb16(static_cast<int32_t>(wa)), wa_odd = sxtb16_ror8(wa);
    a00 = __smlad(wa_even, static_cast<int32_t>(x0lo), a00);
    a00 = __smlad(wa_odd, static_cast<int32_t>(x0hi), a00);
    if constexpr (kCols > 1) {
      const uint32_t x1lo = load_u32(c1), x1hi = load_u32(c1 + 2);
      c1 += 4;
      a01 = __smlad(wa_even, static_cast<int32_t>(x1lo), a01);
      a01 = __smlad(wa_odd, static_cast<int32_t>(x1hi), a01);
      if constexpr (kChans > 1) {
        const uint32_t wb = load_u32(w1);
        w1 += 4;
        const int32_t wb_even = __sxtb16(static_cast<int32_t>(wb)), wb_odd = sxtb16_ror8(wb);
        a10 = __smlad(wb_even, static_cast<int32_t>(x0lo), a10);
        a10 = __smlad(wb_odd, static_cast<int32_t>(x0hi), a10);
        a11 = __smlad(wb_even, static_cast<int32_t>(x1lo), a11);
        a11 = __smlad(wb_odd, static_cast<int32_t>(x1hi), a11);
      }
    } else if constexpr (kChans > 1) {
      const uint32_t wb = load_u32(w1);
      w1 += 4;
      a10 = __smlad(__sxtb16(static_cast<int32_t>(wb)), static_cast<int32_t>(x0lo), a10);
      a10 = __smlad(sxtb16_ror8(wb), static_cast<int32_t>(x0hi), a10);
    }
  }
  for (int32_t t = k & 3; t > 0; --t) {
    const int32_t x0 = *c0++;
    const int32_t wa = *w0++;
    a00 += wa * x0;
    if constexpr (kCols > 1) a01 += wa * *c1++;
    if constexpr (kChans > 1) {
      const int32_t wb = *w1++;
      a10 += wb * x0;
      if constexpr (kCols > 1) a11 += wb * c1[-1];
    }
  }
  acc[0][0] = a00;
  acc[0][1] = a01;
  acc[1][0] = a10;
  acc[1][1] = a11;
}

// The reference kernels' epilogue: requantize channel `ch`'s accumulator, add the output
// offset, clamp. kMode is q.rounding, fixed at compile time so each mode gets straight code.
template <RoundingMode kMode>
inline int8_t requantize(int32_t acc, const ConvQuantParams& q, int32_t ch) {
  const int32_t pc = q.per_channel ? ch : 0;
  const int32_t v = multiply_by_quantized_multiplier(acc, q.output_multiplier[pc], q.output_shift[pc], kMode);
  return static_cast<int8_t>(clamp_to_range(v + q.output_offset, q.activation_min, q.activation_max));
}

// Runs fn.template operator()<kMode>() for the call's rounding mode.
template <class Fn>
inline void with_rounding(RoundingMode mode, Fn&& fn) {
  if (mode == RoundingMode::kSingle)
    fn.template operator()<RoundingMode::kSingle>();
  else
    fn.template operator()<RoundingMode::kDouble>();
}

// Multiplies `chans` consecutive weight rows with `cols` (1 or 2) widened columns and
// writes the requantized outputs: column j's outputs go to out[j] + 0 .. chans-1.
// Channels are taken two at a time; `bias` may be null.
template <RoundingMode kMode>
inline void gemm_columns(const ConvQuantParams& q, const int8_t* weights, int32_t k, int32_t chans,
                         const int32_t* bias, const int16_t* const* columns, int32_t cols, int8_t* const* out) {
  int32_t oc = 0;
  for (; oc + 2 <= chans; oc += 2) {
    const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc + 1] : 0;
    int32_t acc[2][2] = {{b0, b0}, {b1, b1}};
    const int8_t* w = weights + static_cast<int32_t>(oc) * k;
    if (cols == 2) {
      dot_block<2, 2>(w, k, columns, k, acc);
      out[1][oc] = requantize<kMode>(acc[0][1], q, oc);
      out[1][oc + 1] = requantize<kMode>(acc[1][1], q, oc + 1);
    } else {
      dot_block<1, 2>(w, k, columns, k, acc);
    }
    out[0][oc] = requantize<kMode>(acc[0][0], q, oc);
    out[0][oc + 1] = requantize<kMode>(acc[1][0], q, oc + 1);
  }
  if (oc < chans) {
    const int32_t b0 = bias ? bias[oc] : 0;
    int32_t acc[2][2] = {{b0, b0}, {0, 0}};
    const int8_t* w = weights + static_cast<int32_t>(oc) * k;
    if (cols == 2) {
      dot_block<2, 1>(w, k, columns, k, acc);
      out[1][oc] = requantize<kMode>(acc[0][1], q, oc);
    } else {
      dot_block<1, 1>(w, k, columns, k, acc);
    }
    out[0][oc] = requantize<kMode>(acc[0][0], q, oc);
  }
}

}  // namespace slingshot::dsp_s8
