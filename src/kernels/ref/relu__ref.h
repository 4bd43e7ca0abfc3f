// Reference ReLU and ReLU6 (a ReLU clipped at `upper`; +infinity for plain ReLU), forward
// and backward. The derivative at a kink is 0 (the convention of PyTorch and TF), and an
// input that is not > 0 (NaN included) maps to +0.
#pragma once

#include <cstdint>

namespace slingshot {

// y[i] = x[i] > 0 ? min(x[i], upper) : 0.
template <class T>
void relu_forward__ref(int64_t count, const T* x, T upper, T* y);

// grad_x[i] = 0 < x[i] < upper ? grad_y[i] : 0, from the layer's input x.
// grad_x may be grad_y (in place).
template <class T>
void relu_backward__ref(int64_t count, const T* x, const T* grad_y, T upper, T* grad_x);

}  // namespace slingshot
