// Reference int8 depthwise convolution: one int32 accumulator per output, plain loops.
#include "kernels/ref/depthwise_conv2d_s8__ref.h"

#include "kernels/ref/window_taps.h"

namespace slingshot {

void depthwise_conv2d_s8__ref(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int32_t mult = cin > 0 ? cout / cin : 0;
  for_each_window(s, [&](const ClippedWindow& w) {
    int8_t* out = output + w.out_pixel * cout;
    for (int32_t ic = 0; ic < cin; ++ic) {
      for (int32_t m = 0; m < mult; ++m) {
        const int32_t oc = ic * mult + m;
        int32_t acc = 0;
        for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
          for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) {
            const int32_t x = input[w.input_pixel(s, ky, kx) * cin + ic];
            const int32_t f = filter[(static_cast<int64_t>(ky) * s.kernel_w + kx) * cout + oc];
            acc = wrapping_add(acc, f * (x + q.input_offset));
          }
        if (bias) acc = wrapping_add(acc, bias[oc]);
        const int32_t ch = q.per_channel ? oc : 0;
        acc = multiply_by_quantized_multiplier(acc, q.output_multiplier[ch], q.output_shift[ch], q.rounding);
        out[oc] = static_cast<int8_t>(clamp_to_range(wrapping_add(acc, q.output_offset), q.activation_min, q.activation_max));
      }
    }
  });
}

}  // namespace slingshot
