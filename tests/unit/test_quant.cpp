// Fixed-point requantization against hand-worked cases of the published TFLite/gemmlowp
// arithmetic (each expected value is derived in the comment beside it), plus properties
// that hold over random inputs.
#include <doctest/doctest.h>

#include <cmath>

#include "core/rng.h"
#include "quant/fixed_point.h"
#include "quant/quantize_multiplier.h"

using namespace slingshot;

TEST_CASE("saturating rounding doubling high mul: hand-worked cases") {
  // The only overflow: (-2^31)(-2^31)*2 / 2^32 = 2^31 does not fit, saturates.
  CHECK(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN) == INT32_MAX);
  // 2^30 * 2^30 / 2^31 = 2^29 exactly.
  CHECK(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30) == (1 << 29));
  // 3 * 0.5 = 1.5: (3*2^30 + 2^30) / 2^31 = 2.
  CHECK(saturating_rounding_doubling_high_mul(3, 1 << 30) == 2);
  // -3 * 0.5 = -1.5: (-3*2^30 + 1 - 2^30) / 2^31 = -1.99.. truncates to -1 (ties go up).
  CHECK(saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1);
  // -5 * 0.5 = -2.5 -> -2; 5 * 0.5 = 2.5 -> 3.
  CHECK(saturating_rounding_doubling_high_mul(-5, 1 << 30) == -2);
  CHECK(saturating_rounding_doubling_high_mul(5, 1 << 30) == 3);
  // INT32_MAX * INT32_MAX / 2^31 = 2^31 - 2 + 2^-31 -> 2147483646.
  CHECK(saturating_rounding_doubling_high_mul(INT32_MAX, INT32_MAX) == 2147483646);
  // INT32_MIN * INT32_MAX / 2^31 = -(2^31 - 1) exactly.
  CHECK(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MAX) == -2147483647);
  CHECK(saturating_rounding_doubling_high_mul(0, INT32_MIN) == 0);
}

TEST_CASE("rounding divide by power of two: ties away from zero") {
  CHECK(rounding_divide_by_pot(5, 1) == 3);    // 2.5 -> 3
  CHECK(rounding_divide_by_pot(-5, 1) == -3);  // -2.5 -> -3
  CHECK(rounding_divide_by_pot(-3, 1) == -2);  // -1.5 -> -2
  CHECK(rounding_divide_by_pot(6, 2) == 2);    // 1.5 -> 2
  CHECK(rounding_divide_by_pot(-6, 2) == -2);  // -1.5 -> -2
  CHECK(rounding_divide_by_pot(7, 2) == 2);    // 1.75 -> 2
  CHECK(rounding_divide_by_pot(-7, 2) == -2);  // -1.75 -> -2
  CHECK(rounding_divide_by_pot(5, 2) == 1);    // 1.25 -> 1
  CHECK(rounding_divide_by_pot(-5, 2) == -1);  // -1.25 -> -1
  CHECK(rounding_divide_by_pot(123, 0) == 123);
  CHECK(rounding_divide_by_pot(INT32_MIN, 31) == -1);  // -1 exactly
  CHECK(rounding_divide_by_pot(INT32_MAX, 31) == 1);   // 0.99.. -> 1
}

TEST_CASE("multiply by quantized multiplier: double and single rounding differ where they should") {
  const int32_t half = 1 << 30;  // 0.5 with shift 0
  // 100 * 0.5 = 50; 100 * 0.25 = 25 in both modes.
  for (RoundingMode mode : {RoundingMode::kDouble, RoundingMode::kSingle}) {
    CHECK(multiply_by_quantized_multiplier(100, half, 0, mode) == 50);
    CHECK(multiply_by_quantized_multiplier(100, half, -1, mode) == 25);
    CHECK(multiply_by_quantized_multiplier(-100, half, -1, mode) == -25);
    CHECK(multiply_by_quantized_multiplier(3, half, 2, mode) == 6);  // 3 * 0.5 * 4
  }
  // 101 * 0.25 = 25.25. Double: high-mul gives round(50.5) = 51, then 51 / 2 = 25.5 -> 26.
  // Single: floor((101*2^30 + 2^31) / 2^32) = floor(25.75) = 25. The classic discrepancy.
  CHECK(multiply_by_quantized_multiplier(101, half, -1, RoundingMode::kDouble) == 26);
  CHECK(multiply_by_quantized_multiplier(101, half, -1, RoundingMode::kSingle) == 25);
  // 128 * 0.25 = 32 exactly in both.
  CHECK(multiply_by_quantized_multiplier(128, half, -1, RoundingMode::kDouble) == 32);
  CHECK(multiply_by_quantized_multiplier(128, half, -1, RoundingMode::kSingle) == 32);
  // Ties: 3 * 0.5 = 1.5 -> 2 in both; -3 * 0.5 = -1.5 -> -1 double (high-mul ties up),
  // -1 single (floor(-1.5 + 0.5) = -1).
  CHECK(multiply_by_quantized_multiplier(3, half, 0, RoundingMode::kDouble) == 2);
  CHECK(multiply_by_quantized_multiplier(3, half, 0, RoundingMode::kSingle) == 2);
  CHECK(multiply_by_quantized_multiplier(-3, half, 0, RoundingMode::kDouble) == -1);
  CHECK(multiply_by_quantized_multiplier(-3, half, 0, RoundingMode::kSingle) == -1);
  // -5 * 0.25 = -1.25: double: high-mul -2.5 -> -2, then -2 / 2 = -1 exactly; single -1.
  CHECK(multiply_by_quantized_multiplier(-5, half, -1, RoundingMode::kDouble) == -1);
  CHECK(multiply_by_quantized_multiplier(-5, half, -1, RoundingMode::kSingle) == -1);
  // Single rounding saturates: 2^31-1 times ~1.0 times 2^30.
  CHECK(multiply_by_quantized_multiplier(INT32_MAX, INT32_MAX, 30, RoundingMode::kSingle) == INT32_MAX);
  CHECK(multiply_by_quantized_multiplier(INT32_MIN, INT32_MAX, 30, RoundingMode::kSingle) == INT32_MIN);
}

TEST_CASE("requantization stays within its rounding error of the real product") {
  Rng rng(9);
  for (int i = 0; i < 20000; ++i) {
    const int32_t x = static_cast<int32_t>(rng.next_u32() >> (1 + rng.below(24))) * (rng.below(2) ? 1 : -1);
    const double real = std::ldexp(0.5 + 0.5 * rng.uniform(), -static_cast<int>(rng.below(20)));
    auto q = quantize_multiplier(real);
    REQUIRE(q.ok());
    const double exact = static_cast<double>(x) * q->multiplier * std::ldexp(1.0, q->shift - 31);
    const int32_t single = multiply_by_quantized_multiplier(x, q->multiplier, q->shift, RoundingMode::kSingle);
    const int32_t dbl = multiply_by_quantized_multiplier(x, q->multiplier, q->shift, RoundingMode::kDouble);
    // One rounding: within half an LSB. Two roundings: within one LSB.
    CHECK(std::abs(single - exact) <= 0.5);
    CHECK(std::abs(dbl - exact) <= 1.0);
  }
}

TEST_CASE("quantize_multiplier follows TFLite's frexp convention and rejects bad scales") {
  auto half = quantize_multiplier(0.5);
  REQUIRE(half.ok());
  CHECK(half->multiplier == (1 << 30));
  CHECK(half->shift == 0);
  auto one = quantize_multiplier(1.0);
  REQUIRE(one.ok());
  CHECK(one->multiplier == (1 << 30));
  CHECK(one->shift == 1);
  auto three_quarters = quantize_multiplier(0.75);
  REQUIRE(three_quarters.ok());
  CHECK(three_quarters->multiplier == 1610612736);  // round(0.75 * 2^31)
  CHECK(three_quarters->shift == 0);
  // A mantissa that rounds up to 1.0 moves to the next exponent.
  auto almost_one = quantize_multiplier(1.0 - 1e-12);
  REQUIRE(almost_one.ok());
  CHECK(almost_one->multiplier == (1 << 30));
  CHECK(almost_one->shift == 1);
  auto zero = quantize_multiplier(0.0);
  REQUIRE(zero.ok());
  CHECK(zero->multiplier == 0);
  auto tiny = quantize_multiplier(1e-12);  // below 2^-32: underflows to zero
  REQUIRE(tiny.ok());
  CHECK(tiny->multiplier == 0);
  CHECK(quantize_multiplier(-0.1).status().message().find("must be finite and >= 0") != std::string::npos);
  CHECK_FALSE(quantize_multiplier(NAN).ok());
  CHECK_FALSE(quantize_multiplier(INFINITY).ok());
  CHECK(quantize_multiplier(std::ldexp(1.0, 40)).status().message().find("too large") != std::string::npos);

  CHECK(validate_quantized_multiplier(1 << 30, 0).ok());
  CHECK(validate_quantized_multiplier(0, 0).ok());
  CHECK(validate_quantized_multiplier(1 << 30, 31).message().find("shift 31 is outside [-31, 30]") != std::string::npos);
  CHECK(validate_quantized_multiplier(12345, 0).message().find("outside [2^30, 2^31)") != std::string::npos);
  CHECK_FALSE(validate_quantized_multiplier(int64_t{1} << 31, 0).ok());
}
