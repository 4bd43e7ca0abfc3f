// Reference int8 average pooling: plain loops over the in-bounds taps of each window.
#include "kernels/ref/avg_pool2d_s8__ref.h"

#include "kernels/ref/window_taps.h"

namespace slingshot {

void avg_pool2d_s8__ref(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output) {
  const int32_t c = s.input.c;
  for_each_window(s, [&](const ClippedWindow& w) {
    int8_t* out = output + w.out_pixel * c;
    const int32_t count = w.tap_count();
    for (int32_t ch = 0; ch < c; ++ch) {
      int32_t sum = 0;
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) sum += input[w.input_pixel(s, ky, kx) * c + ch];
      // TFLite fails the op on an empty window; SAME and VALID geometry never makes one.
      const int32_t avg = count > 0 ? rounded_average(sum, count) : 0;
      out[ch] = static_cast<int8_t>(clamp_to_range(avg, q.activation_min, q.activation_max));
    }
  });
}

}  // namespace slingshot
