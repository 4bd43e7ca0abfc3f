// Reference elementwise addition of two same-shaped float tensors.
#pragma once

#include <cstdint>

namespace slingshot {

// y[i] = a[i] + b[i]; y may alias a or b.
template <class T>
void add__ref(int64_t count, const T* a, const T* b, T* y);

}  // namespace slingshot
