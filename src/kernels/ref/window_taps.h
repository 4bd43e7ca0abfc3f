// Iteration over the in-bounds taps of a 2-D window op, shared by the reference
// conv, depthwise conv and pooling kernels so they agree on padding and order.
#pragma once

#include "kernels/kernel_params.h"

namespace slingshot {

// Visits every (output position, filter tap) pair whose input position is inside
// the image. fn(out_index, in_index, filter_tap_index) with channel offsets left to fn.
template <class Fn>
inline void for_each_tap(const WindowShape& s, Fn&& fn) {
  for (int32_t n = 0; n < s.output.n; ++n) {
    for (int32_t oy = 0; oy < s.output.h; ++oy) {
      for (int32_t ox = 0; ox < s.output.w; ++ox) {
        const int64_t out_pixel = ((static_cast<int64_t>(n) * s.output.h + oy) * s.output.w + ox);
        for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
          const int32_t iy = oy * s.stride_h - s.pad_top + ky;
          if (iy < 0 || iy >= s.input.h) continue;
          for (int32_t kx = 0; kx < s.kernel_w; ++kx) {
            const int32_t ix = ox * s.stride_w - s.pad_left + kx;
            if (ix < 0 || ix >= s.input.w) continue;
            const int64_t in_pixel = ((static_cast<int64_t>(n) * s.input.h + iy) * s.input.w + ix);
            fn(out_pixel, in_pixel, static_cast<int64_t>(ky) * s.kernel_w + kx);
          }
        }
      }
    }
  }
}


}  // namespace slingshot
