// Reference depthwise convolution: plain loops in a fixed summation order.
#include "kernels/ref/depthwise_conv2d__ref.h"

#include "kernels/ref/window_taps.h"

namespace slingshot {

template <class T>
void depthwise_conv2d_forward__ref(const WindowShape& s, const T* input, const T* filter, const T* bias, T* output) {
  const int32_t c = s.output.c;
  const int64_t out_pixels = static_cast<int64_t>(s.output.n) * s.output.h * s.output.w;
  for (int64_t p = 0; p < out_pixels; ++p)
    for (int32_t ch = 0; ch < c; ++ch) output[p * c + ch] = bias ? bias[ch] : T(0);
  for_each_tap(s, [&](int64_t op, int64_t ip, int64_t tap) {
    for (int32_t ch = 0; ch < c; ++ch) output[op * c + ch] += input[ip * c + ch] * filter[tap * c + ch];
  });
}

template <class T>
void depthwise_conv2d_backward_input__ref(const WindowShape& s, const T* grad_output, const T* filter,
                                          T* grad_input) {
  const int32_t c = s.output.c;
  for (int64_t i = 0; i < s.input.size(); ++i) grad_input[i] = T(0);
  for_each_tap(s, [&](int64_t op, int64_t ip, int64_t tap) {
    for (int32_t ch = 0; ch < c; ++ch) grad_input[ip * c + ch] += grad_output[op * c + ch] * filter[tap * c + ch];
  });
}

template <class T>
void depthwise_conv2d_backward_filter__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_filter,
                                           T* grad_bias) {
  const int32_t c = s.output.c;
  for (int64_t i = 0; i < static_cast<int64_t>(s.kernel_h) * s.kernel_w * c; ++i) grad_filter[i] = T(0);
  for_each_tap(s, [&](int64_t op, int64_t ip, int64_t tap) {
    for (int32_t ch = 0; ch < c; ++ch) grad_filter[tap * c + ch] += grad_output[op * c + ch] * input[ip * c + ch];
  });
  if (grad_bias) {
    const int64_t out_pixels = static_cast<int64_t>(s.output.n) * s.output.h * s.output.w;
    for (int32_t ch = 0; ch < c; ++ch) grad_bias[ch] = T(0);
    for (int64_t p = 0; p < out_pixels; ++p)
      for (int32_t ch = 0; ch < c; ++ch) grad_bias[ch] += grad_output[p * c + ch];
  }
}

#define SLING_INSTANTIATE(T)                                                                                    \
  template void depthwise_conv2d_forward__ref<T>(const WindowShape&, const T*, const T*, const T*, T*);        \
  template void depthwise_conv2d_backward_input__ref<T>(const WindowShape&, const T*, const T*, T*);           \
  template void depthwise_conv2d_backward_filter__ref<T>(const WindowShape&, const T*, const T*, T*, T*);
SLING_INSTANTIATE(float)
SLING_INSTANTIATE(double)
#undef SLING_INSTANTIATE

}  // namespace slingshot
