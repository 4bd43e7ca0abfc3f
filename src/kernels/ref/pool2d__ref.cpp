// Reference pooling kernels.
#include "kernels/ref/pool2d__ref.h"

namespace slingshot {
namespace {

// Calls fn(out_pixel, n, y_begin, y_end, x_begin, x_end) per output pixel with its window
// clipped to the input, so pooling never reads or counts padding.
template <class Fn>
void for_each_output_window(const WindowShape& s, Fn&& fn) {
  for (int32_t n = 0; n < s.output.n; ++n)
    for (int32_t oy = 0; oy < s.output.h; ++oy)
      for (int32_t ox = 0; ox < s.output.w; ++ox) {
        const int64_t op = ((static_cast<int64_t>(n) * s.output.h + oy) * s.output.w + ox);
        const int32_t y0 = oy * s.stride_h - s.pad_top, x0 = ox * s.stride_w - s.pad_left;
        const int32_t ky0 = y0 < 0 ? -y0 : 0, kx0 = x0 < 0 ? -x0 : 0;
        const int32_t ky1 = y0 + s.kernel_h > s.input.h ? s.input.h - y0 : s.kernel_h;
        const int32_t kx1 = x0 + s.kernel_w > s.input.w ? s.input.w - x0 : s.kernel_w;
        fn(op, n, y0 + ky0, y0 + ky1, x0 + kx0, x0 + kx1);
      }
}

}  // namespace

template <class T>
void max_pool2d_forward__ref(const WindowShape& s, const T* input, T* output) {
  const int32_t c = s.input.c;
  for_each_output_window(s, [&](int64_t op, int32_t n, int32_t y0, int32_t y1, int32_t x0, int32_t x1) {
    for (int32_t ch = 0; ch < c; ++ch) {
      bool first = true;
      T best = T(0);  // stays 0 only for an empty window, which SAME/VALID geometry never makes
      for (int32_t y = y0; y < y1; ++y)
        for (int32_t x = x0; x < x1; ++x) {
          const T v = input[((static_cast<int64_t>(n) * s.input.h + y) * s.input.w + x) * c + ch];
          if (first || v > best) best = v;
          first = false;
        }
      output[op * c + ch] = best;
    }
  });
}

template <class T>
void max_pool2d_backward__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_input) {
  const int32_t c = s.input.c;
  for (int64_t i = 0; i < s.input.size(); ++i) grad_input[i] = T(0);
  for_each_output_window(s, [&](int64_t op, int32_t n, int32_t y0, int32_t y1, int32_t x0, int32_t x1) {
    for (int32_t ch = 0; ch < c; ++ch) {
      int64_t best_index = -1;
      T best = T(0);
      for (int32_t y = y0; y < y1; ++y)
        for (int32_t x = x0; x < x1; ++x) {
          const int64_t idx = ((static_cast<int64_t>(n) * s.input.h + y) * s.input.w + x) * c + ch;
          if (best_index < 0 || input[idx] > best) {
            best = input[idx];
            best_index = idx;
          }
        }
      if (best_index >= 0) grad_input[best_index] += grad_output[op * c + ch];
    }
  });
}

template <class T>
void avg_pool2d_forward__ref(const WindowShape& s, const T* input, T* output) {
  const int32_t c = s.input.c;
  for_each_output_window(s, [&](int64_t op, int32_t n, int32_t y0, int32_t y1, int32_t x0, int32_t x1) {
    const int32_t count = (y1 - y0) * (x1 - x0);
    for (int32_t ch = 0; ch < c; ++ch) {
      T sum = T(0);
      for (int32_t y = y0; y < y1; ++y)
        for (int32_t x = x0; x < x1; ++x)
          sum += input[((static_cast<int64_t>(n) * s.input.h + y) * s.input.w + x) * c + ch];
      output[op * c + ch] = count > 0 ? sum / static_cast<T>(count) : T(0);
    }
  });
}

template <class T>
void avg_pool2d_backward__ref(const WindowShape& s, const T* grad_output, T* grad_input) {
  const int32_t c = s.input.c;
  for (int64_t i = 0; i < s.input.size(); ++i) grad_input[i] = T(0);
  for_each_output_window(s, [&](int64_t op, int32_t n, int32_t y0, int32_t y1, int32_t x0, int32_t x1) {
    const int32_t count = (y1 - y0) * (x1 - x0);
    if (count == 0) return;
    for (int32_t ch = 0; ch < c; ++ch) {
      const T g = grad_output[op * c + ch] / static_cast<T>(count);
      for (int32_t y = y0; y < y1; ++y)
        for (int32_t x = x0; x < x1; ++x)
          grad_input[((static_cast<int64_t>(n) * s.input.h + y) * s.input.w + x) * c + ch] += g;
    }
  });
}

template <class T>
void global_avg_pool_forward__ref(const Dims4& in, const T* input, T* output) {
  const int64_t pixels = static_cast<int64_t>(in.h) * in.w;
  for (int32_t n = 0; n < in.n; ++n)
    for (int32_t ch = 0; ch < in.c; ++ch) {
      T sum = T(0);
      for (int64_t p = 0; p < pixels; ++p) sum += input[(n * pixels + p) * in.c + ch];
      output[static_cast<int64_t>(n) * in.c + ch] = sum / static_cast<T>(pixels);
    }
}

template <class T>
void global_avg_pool_backward__ref(const Dims4& in, const T* grad_output, T* grad_input) {
  const int64_t pixels = static_cast<int64_t>(in.h) * in.w;
  for (int32_t n = 0; n < in.n; ++n)
    for (int64_t p = 0; p < pixels; ++p)
      for (int32_t ch = 0; ch < in.c; ++ch)
        grad_input[(n * pixels + p) * in.c + ch] =
            grad_output[static_cast<int64_t>(n) * in.c + ch] / static_cast<T>(pixels);
}

#define SLING_INSTANTIATE(T)                                                                  \
  template void max_pool2d_forward__ref<T>(const WindowShape&, const T*, T*);                \
  template void max_pool2d_backward__ref<T>(const WindowShape&, const T*, const T*, T*);     \
  template void avg_pool2d_forward__ref<T>(const WindowShape&, const T*, T*);                \
  template void avg_pool2d_backward__ref<T>(const WindowShape&, const T*, T*);               \
  template void global_avg_pool_forward__ref<T>(const Dims4&, const T*, T*);                 \
  template void global_avg_pool_backward__ref<T>(const Dims4&, const T*, T*);
SLING_INSTANTIATE(float)
SLING_INSTANTIATE(double)
#undef SLING_INSTANTIATE

}  // namespace slingshot
