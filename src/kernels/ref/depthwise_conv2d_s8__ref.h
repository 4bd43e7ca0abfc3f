// Reference int8 depthwise 2-D convolution, TFLite int8 DEPTHWISE_CONV_2D arithmetic.
// Filter layout [1, kh, kw, C_out] with C_out = C_in * depth_multiplier (TFLite); the
// multiplier is s.output.c / s.input.c.
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// For oc = ic * depth_multiplier + m:
// acc = bias[oc] + sum over in-bounds taps of filter[ky,kx,oc] * (input[n,iy,ix,ic] + input_offset);
// output = clamp(requantize(acc, oc) + output_offset, activation_min, activation_max).
// Padded taps are skipped (input == zero point). `bias` may be null.
void depthwise_conv2d_s8__ref(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output);

}  // namespace slingshot
