// Reference int8 thermometer encoding: each input code becomes `levels` output codes, one
// comparison with a per-level threshold code each. It is the integer form of the
// `thermometer` layer (model/layers/thermometer.h); the thresholds come from the float
// encoding of every dequantized input code (engine/int8_program.cpp), so it is exactly
// that encoding. No TFLite or CMSIS-NN counterpart exists.
#pragma once

#include <cstdint>

#include "kernels/quant_params.h"

namespace slingshot {

// input [count] codes to output [count * levels] codes: output[i * levels + k] is
// q.one_code if input[i] >= q.thresholds[k], else q.zero_code.
void thermometer_s8__ref(int64_t count, const ThermometerQuantParams& q, const int8_t* input, int8_t* output);

}  // namespace slingshot
