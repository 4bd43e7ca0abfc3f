// Real scale -> (multiplier, shift) by frexp, rounding the 31-bit mantissa to nearest.
#include "quant/quantize_multiplier.h"

#include <cmath>
#include <string>

namespace slingshot {

Result<QuantizedMultiplier> quantize_multiplier(double real) {
  if (!std::isfinite(real) || real < 0)
    return invalid_argument("requantization scale must be finite and >= 0, got " + std::to_string(real));
  if (real == 0) return QuantizedMultiplier{0, 0};
  int exponent = 0;
  const double mantissa = std::frexp(real, &exponent);  // real = mantissa * 2^exponent, mantissa in [0.5, 1)
  auto q = static_cast<int64_t>(std::llround(mantissa * static_cast<double>(int64_t{1} << 31)));
  if (q == (int64_t{1} << 31)) {  // the mantissa rounded up to 1.0
    q /= 2;
    ++exponent;
  }
  if (exponent < -31) return QuantizedMultiplier{0, 0};  // below 2^-32: no representable multiplier
  if (exponent > 30)
    return invalid_argument("requantization scale " + std::to_string(real) + " is too large (limit 2^30)");
  return QuantizedMultiplier{static_cast<int32_t>(q), exponent};
}

Status validate_quantized_multiplier(int64_t multiplier, int64_t shift) {
  if (shift < -31 || shift > 30)
    return invalid_argument("requantization shift " + std::to_string(shift) + " is outside [-31, 30]");
  if (multiplier != 0 && (multiplier < (int64_t{1} << 30) || multiplier >= (int64_t{1} << 31)))
    return invalid_argument("requantization multiplier " + std::to_string(multiplier) +
                            " is outside [2^30, 2^31) and not 0");
  return Status::Ok();
}

}  // namespace slingshot
