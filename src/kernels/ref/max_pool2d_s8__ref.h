// Reference int8 max pooling (NHWC), TFLite int8 MAX_POOL_2D: input and output share
// scale and zero point, so the max of the raw values is the result, then the clamp.
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// output = clamp(max over in-bounds taps of input, activation_min, activation_max).
// Padded positions are ignored (never win the max). s.output.c == s.input.c.
void max_pool2d_s8__ref(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output);

}  // namespace slingshot
