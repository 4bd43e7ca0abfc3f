// Quantization parameter structs for the int8 kernels (ref, and later simd and Cortex-M),
// following the TFLite int8 spec and TFLite's conventions: offsets are added, so
// input_offset = -input_zero_point and output_offset = output_zero_point; weights are
// symmetric (zero point 0); fused ReLU/ReLU6 are the activation_min/max clamps.
// Plain data, no heap: this header builds for the firmware too.
#pragma once

#include <cstdint>

#include "quant/fixed_point.h"

namespace slingshot {

// Requantization of an int32 accumulator to int8: conv2d, depthwise conv2d and dense.
struct ConvQuantParams {
  int32_t input_offset;              // -input_zero_point, added to every input value before the multiply
  int32_t output_offset;             // output_zero_point, added after requantization
  const int32_t* output_multiplier;  // Q31 multipliers in [2^30, 2^31) or 0; per output channel (see per_channel)
  const int32_t* output_shift;       // exponents in [-31, 30], positive = left; same indexing as output_multiplier
  bool per_channel;                  // true: index multiplier/shift by output channel; false: entry 0 for all
  int32_t activation_min;            // lower clamp in the output's int8 domain (>= -128; ReLU: output zero point)
  int32_t activation_max;            // upper clamp in the output's int8 domain (<= 127; ReLU6: quantized 6)
  RoundingMode rounding;             // requantization rounding: double (TFLite default) or single
};

// Dense (FULLY_CONNECTED) uses the same parameters as conv.
using DenseQuantParams = ConvQuantParams;

// Max and average pooling: input and output share scale and zero point (TFLite requires it).
struct PoolQuantParams {
  int32_t activation_min;  // lower clamp in the int8 domain (>= -128)
  int32_t activation_max;  // upper clamp in the int8 domain (<= 127)
};

// Global average pooling as TFLite's int8 MEAN over H and W.
struct MeanQuantParams {
  int32_t input_offset;    // -input_zero_point
  int32_t output_offset;   // output_zero_point
  int32_t multiplier;      // Q31 multiplier of input_scale / output_scale (the 1/count comes after)
  int32_t shift;           // exponent of that multiplier, positive = left
  int32_t activation_min;  // lower clamp in the int8 domain (-128 for plain MEAN)
  int32_t activation_max;  // upper clamp in the int8 domain (127 for plain MEAN)
  RoundingMode rounding;   // rounding of the multiplier step
};

// Elementwise int8 ADD with input rescale, as TFLite prepares it: with
// twice_max = 2 * max(s1, s2), input k is scaled by s_k / twice_max and the sum by
// twice_max / (2^left_shift * s_out).
struct AddQuantParams {
  int32_t left_shift;         // headroom shift applied to both offset inputs; TFLite uses 20 for int8
  int32_t input1_offset;      // -zero_point of input 1
  int32_t input1_multiplier;  // Q31 multiplier of s1 / twice_max (<= 0.5)
  int32_t input1_shift;       // its exponent (<= 0)
  int32_t input2_offset;      // -zero_point of input 2
  int32_t input2_multiplier;  // Q31 multiplier of s2 / twice_max (<= 0.5)
  int32_t input2_shift;       // its exponent (<= 0)
  int32_t output_offset;      // output_zero_point
  int32_t output_multiplier;  // Q31 multiplier of twice_max / (2^left_shift * s_out)
  int32_t output_shift;       // its exponent
  int32_t activation_min;     // lower clamp in the int8 domain (>= -128)
  int32_t activation_max;     // upper clamp in the int8 domain (<= 127)
  RoundingMode rounding;      // rounding of all three multiplier steps
};

// Thermometer encoding on int8 codes: bit k of an input code q is set when
// q >= thresholds[k]. The thresholds are the smallest input codes whose dequantized value
// the float encoding gives bit k (the encoding is monotone in the value, so that one
// comparison is exact); a level no code reaches has threshold 128.
struct ThermometerQuantParams {
  int32_t levels;              // bits per input value
  const int32_t* thresholds;   // [levels] input-code thresholds (thresholds[0] <= -128: always set)
  int32_t zero_code;           // output code of a clear bit (the output zero point)
  int32_t one_code;            // output code of a set bit (zero point + 1, scale 1)
};

// Clamps a requantized value into [lo, hi] (the activation range, inside int8).
inline int32_t clamp_to_range(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace slingshot
