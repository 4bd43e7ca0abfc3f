// ReLU and ReLU6: the layer picks the reference or the Highway kernel (bit-identical).
#include "model/layers/activation.h"

#include <limits>
#include <type_traits>
#include <utility>

#include "kernels/ref/relu__ref.h"
#include "kernels/simd/relu_f32__simd.h"

namespace slingshot {

namespace {

template <class T>
T upper_bound(ActivationKind kind) {
  return kind == ActivationKind::kRelu6 ? T(6) : std::numeric_limits<T>::infinity();
}

}  // namespace

FusedRelu Activation::as_fused() const { return FusedRelu{true, upper_bound<float>(kind_)}; }

template <class T>
Status Activation::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  a.output->resize(x.shape());
  if constexpr (std::is_same_v<T, float>) {
    if (uses_simd(a.kernels)) {
      relu_forward_f32__simd(x.numel(), x.data(), upper_bound<float>(kind_), a.output->data());
      return Status::Ok();
    }
  }
  relu_forward__ref<T>(x.numel(), x.data(), upper_bound<T>(kind_), a.output->data());
  return Status::Ok();
}

// The mask 0 < x < upper may come from the output instead of the input (the graph passes
// the output when it folded this ReLU into its producer): 0 < y < upper holds exactly
// when 0 < x < upper, NaN, -0 and infinities included.
template <class T>
Status Activation::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& x = *a.inputs[0];
  // Given a spare buffer, the mask is applied in place there (its lines are still in
  // cache, where dx's were last touched a pass ago) and the buffer becomes dx.
  TensorT<T>& dx = a.spare_grad_output ? *a.spare_grad_output : *a.grad_inputs[0];
  dx.resize(x.shape());
  if constexpr (std::is_same_v<T, float>) {
    if (uses_simd(a.kernels)) {
      relu_backward_f32__simd(x.numel(), x.data(), a.grad_output->data(), upper_bound<float>(kind_), dx.data());
      if (a.spare_grad_output) std::swap(*a.grad_inputs[0], dx);
      return Status::Ok();
    }
  }
  relu_backward__ref<T>(x.numel(), x.data(), a.grad_output->data(), upper_bound<T>(kind_), dx.data());
  if (a.spare_grad_output) std::swap(*a.grad_inputs[0], dx);
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Activation);

}  // namespace slingshot
