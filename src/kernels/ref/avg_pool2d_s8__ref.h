// Reference int8 average pooling (NHWC), TFLite int8 AVERAGE_POOL_2D: input and output
// share scale and zero point; the window sum is divided by the count of in-bounds taps,
// rounding half away from zero.
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// With sum over the in-bounds taps and count their number (padding is not counted):
// avg = sum > 0 ? (sum + count/2) / count : (sum - count/2) / count   (C++ truncating division)
// output = clamp(avg, activation_min, activation_max). s.output.c == s.input.c.
void avg_pool2d_s8__ref(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output);

// The rounded division shared by average pooling and MEAN. count > 0.
inline int32_t rounded_average(int32_t sum, int32_t count) {
  return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

}  // namespace slingshot
