// Reference int8 2-D convolution (NHWC input, OHWI filter), TFLite int8 CONV_2D arithmetic:
// the oracle the int8 SIMD and Cortex-M conv variants are tested against.
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// acc = bias[oc] + sum over in-bounds taps of filter[oc,ky,kx,ic] * (input[n,iy,ix,ic] + input_offset);
// output = clamp(requantize(acc, oc) + output_offset, activation_min, activation_max).
// Padded taps are skipped, i.e. behave as input == zero point. `bias` (int32) may be null.
void conv2d_s8__ref(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                    const int32_t* bias, int8_t* output);

}  // namespace slingshot
