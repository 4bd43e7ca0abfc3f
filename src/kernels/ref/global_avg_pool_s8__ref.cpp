// Reference int8 global average pooling: one int32 sum per (batch, channel).
#include "kernels/ref/global_avg_pool_s8__ref.h"

#include "kernels/ref/avg_pool2d_s8__ref.h"

namespace slingshot {

void global_avg_pool_s8__ref(const Dims4& in, const MeanQuantParams& q, const int8_t* input, int8_t* output) {
  const int32_t hw = in.h * in.w;
  for (int32_t n = 0; n < in.n; ++n) {
    const int8_t* x = input + static_cast<int64_t>(n) * hw * in.c;
    for (int32_t c = 0; c < in.c; ++c) {
      int32_t sum = 0;
      for (int32_t p = 0; p < hw; ++p) sum += x[static_cast<int64_t>(p) * in.c + c] + q.input_offset;
      const int32_t r = multiply_by_quantized_multiplier(sum, q.multiplier, q.shift, q.rounding);
      const int32_t mean = hw > 0 ? rounded_average(r, hw) : 0;
      output[static_cast<int64_t>(n) * in.c + c] =
          static_cast<int8_t>(clamp_to_range(mean + q.output_offset, q.activation_min, q.activation_max));
    }
  }
}

}  // namespace slingshot
