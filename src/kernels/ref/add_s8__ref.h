// Reference int8 elementwise addition, TFLite int8 ADD arithmetic (same shapes, no
// broadcasting): both inputs are offset, shifted left for headroom, rescaled to a common
// scale, summed, and the sum is requantized to the output.
#pragma once

#include <cstdint>

#include "kernels/quant_params.h"

namespace slingshot {

// a_k = multiply_by_quantized_multiplier((input_k[i] + input_k_offset) << left_shift, input_k_multiplier,
//                                        input_k_shift)  for k = 1, 2;
// output[i] = clamp(multiply_by_quantized_multiplier(a_1 + a_2, output_multiplier, output_shift)
//                   + output_offset, activation_min, activation_max).
void add_s8__ref(int64_t count, const AddQuantParams& q, const int8_t* input1, const int8_t* input2,
                 int8_t* output);

}  // namespace slingshot
