// Iteration over the windows of a 2-D window op, shared by the reference conv,
// depthwise conv and pooling kernels (float and int8) so they agree on padding and order.
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


// One output position of a window op, with its window clipped to the input.
struct ClippedWindow {
  int64_t out_pixel;  // (n * out_h + oy) * out_w + ox
  int32_t n;          // batch index
  int32_t y0;         // input row of tap ky = 0 (negative under top padding)
  int32_t x0;         // input column of tap kx = 0 (negative under left padding)
  int32_t ky_begin;   // taps ky in [ky_begin, ky_end) lie inside the input
  int32_t ky_end;
  int32_t kx_begin;   // taps kx in [kx_begin, kx_end) lie inside the input
  int32_t kx_end;
  // Index of the input pixel under tap (ky, kx); multiply by the channel count.
  int64_t input_pixel(const WindowShape& s, int32_t ky, int32_t kx) const {
    return (static_cast<int64_t>(n) * s.input.h + y0 + ky) * s.input.w + x0 + kx;
  }
  // In-bounds taps; 0 for a window that misses the input (SAME/VALID geometry never makes one).
  int32_t tap_count() const {
    return ky_end > ky_begin && kx_end > kx_begin ? (ky_end - ky_begin) * (kx_end - kx_begin) : 0;
  }
};

// Calls fn(const ClippedWindow&) for every output position, in NHW order. Padding is
// never read: a window's taps outside the input are clipped away.
template <class Fn>
inline void for_each_window(const WindowShape& s, Fn&& fn) {
  ClippedWindow w{};
  for (w.n = 0; w.n < s.output.n; ++w.n)
    for (int32_t oy = 0; oy < s.output.h; ++oy) {
      w.y0 = oy * s.stride_h - s.pad_top;
      w.ky_begin = w.y0 < 0 ? -w.y0 : 0;
      w.ky_end = w.y0 + s.kernel_h > s.input.h ? s.input.h - w.y0 : s.kernel_h;
      for (int32_t ox = 0; ox < s.output.w; ++ox) {
        w.out_pixel = (static_cast<int64_t>(w.n) * s.output.h + oy) * s.output.w + ox;
        w.x0 = ox * s.stride_w - s.pad_left;
        w.kx_begin = w.x0 < 0 ? -w.x0 : 0;
        w.kx_end = w.x0 + s.kernel_w > s.input.w ? s.input.w - w.x0 : s.kernel_w;
        fn(static_cast<const ClippedWindow&>(w));
      }
    }
}

}  // namespace slingshot
