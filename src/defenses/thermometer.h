// Thermometer encoding (Buckman et al., "Thermometer encoding: one hot way to resist
// adversarial examples", ICLR 2018), the encoding function alone. It turns each value
// into `levels` bits, so it changes the input's shape and cannot stand in front of a
// model trained on plain inputs as a Preprocessor. The defense is the `thermometer`
// layer (model/layers/thermometer.h) at the head of a model trained with it; these
// functions are its exact arithmetic.
//
// With u = (v - lo) / (hi - lo), bit k of a value (k = 0 .. levels - 1) is 1 exactly when
// k == 0 or u > k / levels (ART's ThermometerEncoding): the count of ones is the value's
// bucket plus one, and the ones come first.
#pragma once

#include <algorithm>

#include "attacks/threat_model.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

// Smallest and largest accepted number of levels.
constexpr int kMinThermometerLevels = 2;
constexpr int kMaxThermometerLevels = 256;

// The number of leading ones in the code of one value v of [lo, hi] (1 .. levels): bit k
// is set when k == 0 or u * levels > k. The encoder, the layer and the int8 kernel's
// thresholds all call this, so they agree bit for bit.
inline int thermometer_ones(float v, float lo, float hi, int levels) {
  const float u = std::clamp((v - lo) / (hi - lo), 0.0f, 1.0f);
  const double scaled = static_cast<double>(u) * levels;
  int ones = 1;
  while (ones < levels && scaled > ones) ++ones;
  return ones;
}

// x [N, ..., C] in the bounded `domain` to code [N, ..., C * levels] of 0s and 1s; the
// bits of channel c are code[..., c * levels .. c * levels + levels - 1].
Status thermometer_encode(const Tensor& x, const InputDomain& domain, int levels, Tensor& code);

// The inverse up to the bucket: each value becomes its bucket's center, so
// |decode(encode(v)) - v| <= (hi - lo) / (2 levels). Refuses codes that are not
// thermometer codes (values other than 0 and 1, a zero first bit, a one after a zero).
Status thermometer_decode(const Tensor& code, const InputDomain& domain, int levels, Tensor& x);

}  // namespace slingshot
