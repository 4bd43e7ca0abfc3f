// Turning a real requantization scale (e.g. s_in * s_w / s_out) into the fixed-point
// (multiplier, shift) pair that fixed_point.h consumes, as TFLite's QuantizeMultiplier does.
#pragma once

#include <cstdint>

#include "core/status.h"

namespace slingshot {

struct QuantizedMultiplier {
  int32_t multiplier;  // in [2^30, 2^31), or 0 for a zero scale
  int shift;           // power-of-two exponent: real = multiplier * 2^(shift - 31)
};

// Rejects negative, non-finite and too large scales with an error naming the value.
// Scales below 2^-32 underflow to a zero multiplier, as in TFLite.
Result<QuantizedMultiplier> quantize_multiplier(double real_multiplier);

// Checks a stored (multiplier, shift) pair, e.g. one read from a model file.
Status validate_quantized_multiplier(int64_t multiplier, int64_t shift);

}  // namespace slingshot
