// Reference int8 addition: one element at a time, int32 throughout.
#include "kernels/ref/add_s8__ref.h"

namespace slingshot {

void add_s8__ref(int64_t count, const AddQuantParams& q, const int8_t* input1, const int8_t* input2,
                 int8_t* output) {
  for (int64_t i = 0; i < count; ++i) {
    // |input + offset| <= 255, so the shift by 20 stays well inside int32.
    const int32_t x1 = (input1[i] + q.input1_offset) * (int32_t{1} << q.left_shift);
    const int32_t x2 = (input2[i] + q.input2_offset) * (int32_t{1} << q.left_shift);
    const int32_t a1 = multiply_by_quantized_multiplier(x1, q.input1_multiplier, q.input1_shift, q.rounding);
    const int32_t a2 = multiply_by_quantized_multiplier(x2, q.input2_multiplier, q.input2_shift, q.rounding);
    const int32_t r = multiply_by_quantized_multiplier(a1 + a2, q.output_multiplier, q.output_shift, q.rounding);
    output[i] = static_cast<int8_t>(clamp_to_range(r + q.output_offset, q.activation_min, q.activation_max));
  }
}

}  // namespace slingshot
