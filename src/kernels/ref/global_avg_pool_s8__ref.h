// Reference int8 global average pooling, [N,H,W,C] -> [N,C], with the arithmetic of
// TFLite's int8 MEAN over axes (1, 2) (reference_integer_ops::Mean): rescale the
// offset sum by input_scale/output_scale first, then divide by H*W with the rounding of
// average pooling.
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// sum = sum over h,w of (input[n,h,w,c] + input_offset);
// r = multiply_by_quantized_multiplier(sum, multiplier, shift);
// mean = r > 0 ? (r + HW/2) / HW : (r - HW/2) / HW   (C++ truncating division);
// output[n,c] = clamp(mean + output_offset, activation_min, activation_max).
void global_avg_pool_s8__ref(const Dims4& in, const MeanQuantParams& q, const int8_t* input, int8_t* output);

}  // namespace slingshot
