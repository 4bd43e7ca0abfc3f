// Reference 2-D convolution: plain loops in a fixed summation order.
#include "kernels/ref/conv2d__ref.h"
#include "kernels/ref/window_taps.h"

namespace slingshot {

template <class T>
void conv2d_forward__ref(const WindowShape& s, const T* input, const T* filter, const T* bias, T* output) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int64_t taps = static_cast<int64_t>(s.kernel_h) * s.kernel_w;
  const int64_t out_pixels = static_cast<int64_t>(s.output.n) * s.output.h * s.output.w;
  for (int64_t p = 0; p < out_pixels; ++p)
    for (int32_t oc = 0; oc < cout; ++oc) output[p * cout + oc] = bias ? bias[oc] : T(0);
  for_each_tap(s, [&](int64_t op, int64_t ip, int64_t tap) {
    const T* x = input + ip * cin;
    for (int32_t oc = 0; oc < cout; ++oc) {
      const T* f = filter + (oc * taps + tap) * cin;
      T acc = T(0);
      for (int32_t ic = 0; ic < cin; ++ic) acc += x[ic] * f[ic];
      output[op * cout + oc] += acc;
    }
  });
}

template <class T>
void conv2d_backward_input__ref(const WindowShape& s, const T* grad_output, const T* filter, T* grad_input) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int64_t taps = static_cast<int64_t>(s.kernel_h) * s.kernel_w;
  for (int64_t i = 0; i < s.input.size(); ++i) grad_input[i] = T(0);
  for_each_tap(s, [&](int64_t op, int64_t ip, int64_t tap) {
    T* gx = grad_input + ip * cin;
    for (int32_t oc = 0; oc < cout; ++oc) {
      const T g = grad_output[op * cout + oc];
      const T* f = filter + (oc * taps + tap) * cin;
      for (int32_t ic = 0; ic < cin; ++ic) gx[ic] += g * f[ic];
    }
  });
}

template <class T>
void conv2d_backward_filter__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_filter,
                                 T* grad_bias) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int64_t taps = static_cast<int64_t>(s.kernel_h) * s.kernel_w;
  for (int64_t i = 0; i < cout * taps * cin; ++i) grad_filter[i] = T(0);
  for_each_tap(s, [&](int64_t op, int64_t ip, int64_t tap) {
    const T* x = input + ip * cin;
    for (int32_t oc = 0; oc < cout; ++oc) {
      const T g = grad_output[op * cout + oc];
      T* gf = grad_filter + (oc * taps + tap) * cin;
      for (int32_t ic = 0; ic < cin; ++ic) gf[ic] += g * x[ic];
    }
  });
  if (grad_bias) {
    const int64_t out_pixels = static_cast<int64_t>(s.output.n) * s.output.h * s.output.w;
    for (int32_t oc = 0; oc < cout; ++oc) grad_bias[oc] = T(0);
    for (int64_t p = 0; p < out_pixels; ++p)
      for (int32_t oc = 0; oc < cout; ++oc) grad_bias[oc] += grad_output[p * cout + oc];
  }
}

#define SLING_INSTANTIATE(T)                                                                           \
  template void conv2d_forward__ref<T>(const WindowShape&, const T*, const T*, const T*, T*);           \
  template void conv2d_backward_input__ref<T>(const WindowShape&, const T*, const T*, T*);              \
  template void conv2d_backward_filter__ref<T>(const WindowShape&, const T*, const T*, T*, T*);
SLING_INSTANTIATE(float)
SLING_INSTANTIATE(double)
#undef SLING_INSTANTIATE

}  // namespace slingshot
