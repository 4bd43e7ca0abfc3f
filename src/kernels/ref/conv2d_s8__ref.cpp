// Reference int8 convolution: one int32 accumulator per output, plain loops.
#include "kernels/ref/conv2d_s8__ref.h"

#include "kernels/ref/window_taps.h"

namespace slingshot {

void conv2d_s8__ref(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                    const int32_t* bias, int8_t* output) {
  const int32_t cin = s.input.c, cout = s.output.c;
  for_each_window(s, [&](const ClippedWindow& w) {
    int8_t* out = output + w.out_pixel * cout;
    for (int32_t oc = 0; oc < cout; ++oc) {
      int32_t acc = 0;
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) {
          const int8_t* x = input + w.input_pixel(s, ky, kx) * cin;
          const int8_t* f = filter + ((static_cast<int64_t>(oc) * s.kernel_h + ky) * s.kernel_w + kx) * cin;
          for (int32_t ic = 0; ic < cin; ++ic) acc = wrapping_add(acc, static_cast<int32_t>(f[ic]) * (x[ic] + q.input_offset));
        }
      if (bias) acc = wrapping_add(acc, bias[oc]);
      const int32_t ch = q.per_channel ? oc : 0;
      acc = multiply_by_quantized_multiplier(acc, q.output_multiplier[ch], q.output_shift[ch], q.rounding);
      out[oc] = static_cast<int8_t>(clamp_to_range(wrapping_add(acc, q.output_offset), q.activation_min, q.activation_max));
    }
  });
}

}  // namespace slingshot
