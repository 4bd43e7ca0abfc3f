// Global average pool, add, flatten and softmax.
#include "model/layers/shape_ops.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>

#include "kernels/ref/add__ref.h"
#include "kernels/ref/pool2d__ref.h"
#include "kernels/ref/relu__ref.h"
#include "kernels/simd/add_f32__simd.h"

namespace slingshot {
Result<Shape> GlobalAvgPool::output_shape(std::span<const Shape> inputs) const {
  SLING_RETURN_IF_ERROR(require_rank(inputs[0], 4, "global_avg_pool"));
  return Shape{inputs[0][0], inputs[0][3]};
}

template <class T>
Status GlobalAvgPool::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_ASSIGN_OR_RETURN(Shape out_shape, output_shape(std::span<const Shape>(&x.shape(), 1)));
  a.output->resize(out_shape);
  global_avg_pool_forward__ref<T>(to_dims4(x.shape()), x.data(), a.output->data());
  return Status::Ok();
}

template <class T>
Status GlobalAvgPool::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  a.grad_inputs[0]->resize(a.inputs[0]->shape());
  global_avg_pool_backward__ref<T>(to_dims4(a.inputs[0]->shape()), a.grad_output->data(), a.grad_inputs[0]->data());
  return Status::Ok();
}

Result<Shape> Add::output_shape(std::span<const Shape> inputs) const {
  if (inputs.size() != 2) return invalid_argument("add takes exactly 2 inputs");
  if (inputs[0] != inputs[1])
    return invalid_argument("add inputs differ in shape: " + shape_to_string(inputs[0]) + " vs " +
                            shape_to_string(inputs[1]));
  return inputs[0];
}

template <class T>
Status Add::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  const TensorT<T>& y = *a.inputs[1];
  if (x.shape() != y.shape())
    return invalid_argument("add inputs differ in shape: " + shape_to_string(x.shape()) + " vs " +
                            shape_to_string(y.shape()));
  a.output->resize(x.shape());
  if constexpr (std::is_same_v<T, float>) {
    if (uses_simd(a.kernels)) {
      add_f32__simd(x.numel(), x.data(), y.data(), a.output->data(), a.relu);
      return Status::Ok();
    }
  }
  add__ref<T>(x.numel(), x.data(), y.data(), a.output->data());
  if (a.relu.enabled) relu_forward__ref<T>(x.numel(), a.output->data(), T(a.relu.upper), a.output->data());
  return Status::Ok();
}

template <class T>
Status Add::backward_t(const BackwardArgs<T>& a) const {
  // Both inputs receive grad_output unchanged. Given a spare buffer, the first takes it
  // and the other gets a copy, made first, while the buffer still holds grad_output.
  TensorT<T>* taker = nullptr;
  for (TensorT<T>* g : a.grad_inputs) {
    if (!g) continue;
    if (a.spare_grad_output && !taker) {
      taker = g;
    } else {
      *g = *a.grad_output;
    }
  }
  if (taker) std::swap(*taker, *a.spare_grad_output);
  return Status::Ok();
}

Result<Shape> Flatten::output_shape(std::span<const Shape> inputs) const {
  const Shape& s = inputs[0];
  if (s.size() < 2) return invalid_argument("flatten expects rank >= 2, got " + shape_to_string(s));
  return Shape{s[0], shape_numel(s) / s[0]};
}

template <class T>
Status Flatten::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_ASSIGN_OR_RETURN(Shape out_shape, output_shape(std::span<const Shape>(&x.shape(), 1)));
  *a.output = TensorT<T>(out_shape, x.storage());
  return Status::Ok();
}

template <class T>
Status Flatten::backward_t(const BackwardArgs<T>& a) const {
  if (a.grad_inputs[0]) *a.grad_inputs[0] = TensorT<T>(a.inputs[0]->shape(), a.grad_output->storage());
  return Status::Ok();
}

Result<Shape> Softmax::output_shape(std::span<const Shape> inputs) const {
  if (inputs[0].empty()) return invalid_argument("softmax needs rank >= 1");
  return inputs[0];
}

template <class T>
Status Softmax::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_RETURN_IF_ERROR(output_shape(std::span<const Shape>(&x.shape(), 1)).status());
  a.output->resize(x.shape());
  const int64_t n = x.dim(-1), rows = x.numel() / n;
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = x.data() + r * n;
    T* out = a.output->data() + r * n;
    const T mx = *std::max_element(in, in + n);
    T sum = T(0);
    for (int64_t i = 0; i < n; ++i) sum += (out[i] = std::exp(in[i] - mx));
    for (int64_t i = 0; i < n; ++i) out[i] /= sum;
  }
  return Status::Ok();
}

template <class T>
Status Softmax::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& y = *a.output;
  const TensorT<T>& dy = *a.grad_output;
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(y.shape());
  const int64_t n = y.dim(-1), rows = y.numel() / n;
  for (int64_t r = 0; r < rows; ++r) {
    T dot = T(0);
    for (int64_t i = 0; i < n; ++i) dot += dy[r * n + i] * y[r * n + i];
    for (int64_t i = 0; i < n; ++i) dx[r * n + i] = y[r * n + i] * (dy[r * n + i] - dot);
  }
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(GlobalAvgPool);
SLING_INSTANTIATE_LAYER(Add);
SLING_INSTANTIATE_LAYER(Flatten);
SLING_INSTANTIATE_LAYER(Softmax);

}  // namespace slingshot
