// Reference pooling kernels.
#include "kernels/ref/pool2d__ref.h"

#include "kernels/ref/window_taps.h"

namespace slingshot {

template <class T>
void max_pool2d_forward__ref(const WindowShape& s, const T* input, T* output) {
  const int32_t c = s.input.c;
  for_each_window(s, [&](const ClippedWindow& w) {
    for (int32_t ch = 0; ch < c; ++ch) {
      bool first = true;
      T best = T(0);  // stays 0 only for an empty window, which SAME/VALID geometry never makes
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) {
          const T v = input[w.input_pixel(s, ky, kx) * c + ch];
          if (first || v > best) best = v;
          first = false;
        }
      output[w.out_pixel * c + ch] = best;
    }
  });
}

template <class T>
void max_pool2d_backward__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_input) {
  const int32_t c = s.input.c;
  for (int64_t i = 0; i < s.input.size(); ++i) grad_input[i] = T(0);
  for_each_window(s, [&](const ClippedWindow& w) {
    for (int32_t ch = 0; ch < c; ++ch) {
      int64_t best_index = -1;
      T best = T(0);
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) {
          const int64_t idx = w.input_pixel(s, ky, kx) * c + ch;
          if (best_index < 0 || input[idx] > best) {
            best = input[idx];
            best_index = idx;
          }
        }
      if (best_index >= 0) grad_input[best_index] += grad_output[w.out_pixel * c + ch];
    }
  });
}

template <class T>
void avg_pool2d_forward__ref(const WindowShape& s, const T* input, T* output) {
  const int32_t c = s.input.c;
  for_each_window(s, [&](const ClippedWindow& w) {
    const int32_t count = w.tap_count();
    for (int32_t ch = 0; ch < c; ++ch) {
      T sum = T(0);
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) sum += input[w.input_pixel(s, ky, kx) * c + ch];
      output[w.out_pixel * c + ch] = count > 0 ? sum / static_cast<T>(count) : T(0);
    }
  });
}

template <class T>
void avg_pool2d_backward__ref(const WindowShape& s, const T* grad_output, T* grad_input) {
  const int32_t c = s.input.c;
  for (int64_t i = 0; i < s.input.size(); ++i) grad_input[i] = T(0);
  for_each_window(s, [&](const ClippedWindow& w) {
    const int32_t count = w.tap_count();
    if (count == 0) return;
    for (int32_t ch = 0; ch < c; ++ch) {
      const T g = grad_output[w.out_pixel * c + ch] / static_cast<T>(count);
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
        for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx) grad_input[w.input_pixel(s, ky, kx) * c + ch] += g;
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
