// Reference int8 max pooling: plain loops over the in-bounds taps of each window.
#include "kernels/ref/max_pool2d_s8__ref.h"

#include "kernels/ref/window_taps.h"

namespace slingshot {

void max_pool2d_s8__ref(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output) {
  const int32_t c = s.input.c;
  for_each_window(s, [&](const ClippedWindow& w) {
    int8_t* out = output + w.out_pixel * c;
    for (int32_t ch = 0; ch < c; ++ch) {
      int32_t m = INT8_MIN;
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) {
          const int32_t v = input[w.input_pixel(s, ky, kx) * c + ch];
          if (v > m) m = v;
        }
      out[ch] = static_cast<int8_t>(clamp_to_range(m, q.activation_min, q.activation_max));
    }
  });
}

}  // namespace slingshot
