// Reference fully connected layer: plain loops in a fixed summation order.
#include "kernels/ref/dense__ref.h"

namespace slingshot {

template <class T>
void dense_forward__ref(const DenseShape& s, const T* input, const T* weights, const T* bias, T* output) {
  for (int32_t b = 0; b < s.batch; ++b) {
    const T* x = input + static_cast<int64_t>(b) * s.in_dim;
    for (int32_t o = 0; o < s.out_dim; ++o) {
      const T* w = weights + static_cast<int64_t>(o) * s.in_dim;
      T acc = T(0);
      for (int32_t i = 0; i < s.in_dim; ++i) acc += x[i] * w[i];
      output[static_cast<int64_t>(b) * s.out_dim + o] = (bias ? bias[o] : T(0)) + acc;
    }
  }
}

template <class T>
void dense_backward_input__ref(const DenseShape& s, const T* grad_output, const T* weights, T* grad_input) {
  for (int32_t b = 0; b < s.batch; ++b) {
    T* gx = grad_input + static_cast<int64_t>(b) * s.in_dim;
    for (int32_t i = 0; i < s.in_dim; ++i) gx[i] = T(0);
    for (int32_t o = 0; o < s.out_dim; ++o) {
      const T g = grad_output[static_cast<int64_t>(b) * s.out_dim + o];
      const T* w = weights + static_cast<int64_t>(o) * s.in_dim;
      for (int32_t i = 0; i < s.in_dim; ++i) gx[i] += g * w[i];
    }
  }
}

template <class T>
void dense_backward_weights__ref(const DenseShape& s, const T* input, const T* grad_output, T* grad_weights,
                                 T* grad_bias) {
  for (int64_t k = 0; k < static_cast<int64_t>(s.out_dim) * s.in_dim; ++k) grad_weights[k] = T(0);
  if (grad_bias)
    for (int32_t o = 0; o < s.out_dim; ++o) grad_bias[o] = T(0);
  for (int32_t b = 0; b < s.batch; ++b) {
    const T* x = input + static_cast<int64_t>(b) * s.in_dim;
    for (int32_t o = 0; o < s.out_dim; ++o) {
      const T g = grad_output[static_cast<int64_t>(b) * s.out_dim + o];
      T* gw = grad_weights + static_cast<int64_t>(o) * s.in_dim;
      for (int32_t i = 0; i < s.in_dim; ++i) gw[i] += g * x[i];
      if (grad_bias) grad_bias[o] += g;
    }
  }
}

#define SLING_INSTANTIATE(T)                                                                          \
  template void dense_forward__ref<T>(const DenseShape&, const T*, const T*, const T*, T*);           \
  template void dense_backward_input__ref<T>(const DenseShape&, const T*, const T*, T*);              \
  template void dense_backward_weights__ref<T>(const DenseShape&, const T*, const T*, T*, T*);
SLING_INSTANTIATE(float)
SLING_INSTANTIATE(double)
#undef SLING_INSTANTIATE

}  // namespace slingshot
