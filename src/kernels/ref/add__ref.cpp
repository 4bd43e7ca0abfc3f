#include "kernels/ref/add__ref.h"

namespace slingshot {

template <class T>
void add__ref(int64_t count, const T* a, const T* b, T* y) {
  for (int64_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

template void add__ref<float>(int64_t, const float*, const float*, float*);
template void add__ref<double>(int64_t, const double*, const double*, double*);

}  // namespace slingshot
