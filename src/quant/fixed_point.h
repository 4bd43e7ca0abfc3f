// Fixed-point requantization with TFLite Micro / CMSIS-NN reference semantics, written
// from the published arithmetic (gemmlowp's SaturatingRoundingDoublingHighMul and
// RoundingDivideByPOT, and TFLite's MultiplyByQuantizedMultiplier). Header-only, no heap
// and no libm: the int8 reference kernels use it on every target, Cortex-M included.
//
// A real multiplier M > 0 is represented as M = multiplier * 2^(shift - 31) with
// multiplier in [2^30, 2^31) (or 0), see quantize_multiplier().
#pragma once

#include <cstdint>

namespace slingshot {

// Which rounding the requantization uses.
enum class RoundingMode : uint8_t {
  kDouble = 0,  // TFLite's default: rounding high-mul, then rounding shift (two roundings)
  kSingle = 1,  // TFLITE_SINGLE_ROUNDING / CMSIS-NN: one 64-bit product, one rounding
};

// round(a * b / 2^31), ties toward +infinity, saturating the single overflow case
// (INT32_MIN * INT32_MIN) to INT32_MAX.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (int64_t{1} - (int64_t{1} << 30));
  // C++ division truncates toward zero, which together with the nudge gives the rounding.
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// round(x / 2^exponent), ties away from zero; exponent in [0, 31].
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  // >> on a negative int32 is an arithmetic shift on every compiler we target (and
  // guaranteed since C++20).
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// a + b wrapped to 32 bits as two's complement: what an MCU's int32 add (and the SIMD
// kernels' lane add) does, without the undefined behaviour of a signed overflow in C++.
// Accumulators and bias adds use it, so a model with extreme biases or weights gives the
// deployed result instead of undefined behaviour.
inline int32_t wrapping_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// x * multiplier * 2^(shift - 31), rounded as TFLite does. multiplier >= 0,
// shift in [-31, 30]. Double rounding shifts x left first for shift > 0; the product is
// wrapped to 32 bits as two's complement, as TFLite's int32 arithmetic does in practice.
inline int32_t multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift,
                                                RoundingMode mode = RoundingMode::kDouble) {
  if (mode == RoundingMode::kSingle) {
    const int total_shift = 31 - shift;
    const int64_t round = int64_t{1} << (total_shift - 1);
    const int64_t result = (static_cast<int64_t>(x) * multiplier + round) >> total_shift;
    if (result > INT32_MAX) return INT32_MAX;
    if (result < INT32_MIN) return INT32_MIN;
    return static_cast<int32_t>(result);
  }
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const auto shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift);
}

}  // namespace slingshot
