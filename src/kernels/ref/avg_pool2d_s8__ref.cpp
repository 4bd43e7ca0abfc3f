// Reference int8 average pooling: plain loops over the in-bounds taps of each window.
#include "kernels/ref/avg_pool2d_s8__ref.h"

namespace slingshot {

void avg_pool2d_s8__ref(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output) {
  const int32_t c = s.input.c;
  for (int32_t n = 0; n < s.output.n; ++n) {
    for (int32_t oy = 0; oy < s.output.h; ++oy) {
      const int32_t iy0 = oy * s.stride_h - s.pad_top;
      for (int32_t ox = 0; ox < s.output.w; ++ox) {
        const int32_t ix0 = ox * s.stride_w - s.pad_left;
        int8_t* out = output + ((static_cast<int64_t>(n) * s.output.h + oy) * s.output.w + ox) * c;
        for (int32_t ch = 0; ch < c; ++ch) {
          int32_t sum = 0, count = 0;
          for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
            const int32_t iy = iy0 + ky;
            if (iy < 0 || iy >= s.input.h) continue;
            for (int32_t kx = 0; kx < s.kernel_w; ++kx) {
              const int32_t ix = ix0 + kx;
              if (ix < 0 || ix >= s.input.w) continue;
              sum += input[((static_cast<int64_t>(n) * s.input.h + iy) * s.input.w + ix) * c + ch];
              ++count;
            }
          }
          // TFLite fails the op on an empty window; SAME and VALID geometry never makes one.
          const int32_t avg = count > 0 ? rounded_average(sum, count) : 0;
          out[ch] = static_cast<int8_t>(clamp_to_range(avg, q.activation_min, q.activation_max));
        }
      }
    }
  }
}

}  // namespace slingshot
