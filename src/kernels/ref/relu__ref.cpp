#include "kernels/ref/relu__ref.h"

namespace slingshot {

template <class T>
void relu_forward__ref(int64_t count, const T* x, T upper, T* y) {
  for (int64_t i = 0; i < count; ++i) {
    const T v = x[i] > T(0) ? x[i] : T(0);
    y[i] = v > upper ? upper : v;
  }
}

template <class T>
void relu_backward__ref(int64_t count, const T* x, const T* grad_y, T upper, T* grad_x) {
  // Both operands are read unconditionally so the compiler can use a select (a branch on
  // the sign mispredicts on half the elements).
  for (int64_t i = 0; i < count; ++i) {
    const T g = grad_y[i], v = x[i];
    grad_x[i] = (v > T(0) && v < upper) ? g : T(0);
  }
}

#define SLING_INSTANTIATE_RELU_REF(T)                                           \
  template void relu_forward__ref<T>(int64_t, const T*, T, T*);                 \
  template void relu_backward__ref<T>(int64_t, const T*, const T*, T, T*);
SLING_INSTANTIATE_RELU_REF(float)
SLING_INSTANTIATE_RELU_REF(double)
#undef SLING_INSTANTIATE_RELU_REF

}  // namespace slingshot
