// Reference int8 depthwise convolution: one int32 accumulator per output, plain loops.
#include "kernels/ref/depthwise_conv2d_s8__ref.h"

namespace slingshot {

void depthwise_conv2d_s8__ref(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int32_t mult = cin > 0 ? cout / cin : 0;
  for (int32_t n = 0; n < s.output.n; ++n) {
    for (int32_t oy = 0; oy < s.output.h; ++oy) {
      const int32_t iy0 = oy * s.stride_h - s.pad_top;
      for (int32_t ox = 0; ox < s.output.w; ++ox) {
        const int32_t ix0 = ox * s.stride_w - s.pad_left;
        int8_t* out = output + ((static_cast<int64_t>(n) * s.output.h + oy) * s.output.w + ox) * cout;
        for (int32_t ic = 0; ic < cin; ++ic) {
          for (int32_t m = 0; m < mult; ++m) {
            const int32_t oc = ic * mult + m;
            int32_t acc = 0;
            for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
              const int32_t iy = iy0 + ky;
              if (iy < 0 || iy >= s.input.h) continue;
              for (int32_t kx = 0; kx < s.kernel_w; ++kx) {
                const int32_t ix = ix0 + kx;
                if (ix < 0 || ix >= s.input.w) continue;
                const int32_t x = input[((static_cast<int64_t>(n) * s.input.h + iy) * s.input.w + ix) * cin + ic];
                const int32_t f = filter[(static_cast<int64_t>(ky) * s.kernel_w + kx) * cout + oc];
                acc += f * (x + q.input_offset);
              }
            }
            if (bias) acc += bias[oc];
            const int32_t ch = q.per_channel ? oc : 0;
            acc = multiply_by_quantized_multiplier(acc, q.output_multiplier[ch], q.output_shift[ch], q.rounding);
            out[oc] = static_cast<int8_t>(clamp_to_range(acc + q.output_offset, q.activation_min, q.activation_max));
          }
        }
      }
    }
  }
}

}  // namespace slingshot
