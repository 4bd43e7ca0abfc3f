// Reference int8 fully connected layer: one int32 accumulator per output, plain loops.
#include "kernels/ref/dense_s8__ref.h"

namespace slingshot {

void dense_s8__ref(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                   const int32_t* bias, int8_t* output) {
  for (int32_t b = 0; b < s.batch; ++b) {
    const int8_t* x = input + static_cast<int64_t>(b) * s.in_dim;
    for (int32_t o = 0; o < s.out_dim; ++o) {
      const int8_t* w = weights + static_cast<int64_t>(o) * s.in_dim;
      int32_t acc = 0;
      for (int32_t i = 0; i < s.in_dim; ++i) acc = wrapping_add(acc, static_cast<int32_t>(w[i]) * (x[i] + q.input_offset));
      if (bias) acc = wrapping_add(acc, bias[o]);
      const int32_t ch = q.per_channel ? o : 0;
      acc = multiply_by_quantized_multiplier(acc, q.output_multiplier[ch], q.output_shift[ch], q.rounding);
      output[static_cast<int64_t>(b) * s.out_dim + o] =
          static_cast<int8_t>(clamp_to_range(wrapping_add(acc, q.output_offset), q.activation_min, q.activation_max));
    }
  }
}

}  // namespace slingshot
