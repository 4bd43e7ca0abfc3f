// Reference int8 fully connected layer, TFLite int8 FULLY_CONNECTED arithmetic with
// per-tensor or per-channel weights. Weights are [out_dim, in_dim] (TFLite layout).
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// acc = bias[o] + sum_i weights[o,i] * (input[b,i] + input_offset);
// output[b,o] = clamp(requantize(acc, o) + output_offset, activation_min, activation_max).
// `bias` may be null.
void dense_s8__ref(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                   const int32_t* bias, int8_t* output);

}  // namespace slingshot
