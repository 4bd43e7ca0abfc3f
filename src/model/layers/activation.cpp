// ReLU and ReLU6. The derivative at a kink is taken as 0 (the convention of PyTorch and TF).
#include "model/layers/activation.h"

#include <limits>

namespace slingshot {

template <class T>
Status Activation::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  a.output->resize(x.shape());
  const T hi = kind_ == ActivationKind::kRelu6 ? T(6) : T(0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    T v = x[i] > T(0) ? x[i] : T(0);
    if (kind_ == ActivationKind::kRelu6 && v > hi) v = hi;
    (*a.output)[i] = v;
  }
  return Status::Ok();
}

template <class T>
Status Activation::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& x = *a.inputs[0];
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(x.shape());
  // One compare pair per element (ReLU's upper bound is +inf) lets the compiler emit a
  // select instead of a branch that mispredicts on half the elements.
  const T hi = kind_ == ActivationKind::kRelu6 ? T(6) : std::numeric_limits<T>::infinity();
  const T* xp = x.data();
  const T* gp = a.grad_output->data();
  T* dp = dx.data();
  // Both operands are read unconditionally so the compiler can vectorize the select
  // (reading grad only under the condition kept g++ -O3 scalar: 50x slower).
  for (int64_t i = 0; i < x.numel(); ++i) {
    const T g = gp[i], v = xp[i];
    dp[i] = (v > T(0) && v < hi) ? g : T(0);
  }
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Activation);

}  // namespace slingshot
