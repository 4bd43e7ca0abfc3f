// Fully connected layer: shape checks, serialization, and dispatch to ref or SIMD kernels.
#include "model/layers/dense.h"

#include <nlohmann/json.hpp>

#include "kernels/ref/dense__ref.h"
#include "kernels/simd/dense_f32__simd.h"
#include "model/json_fields.h"

namespace slingshot {

Dense::Dense(const DenseConfig& c) : config_(c) {
  params_.push_back({"weight", Tensor({c.units, c.in_features}), true});
  if (c.use_bias) params_.push_back({"bias", Tensor({c.units}), true});
}

Result<std::unique_ptr<Layer>> Dense::from_json(const nlohmann::json& j) {
  DenseConfig c;
  SLING_ASSIGN_OR_RETURN(c.in_features, json_int(j, "in_features", 1, 1 << 24));
  SLING_ASSIGN_OR_RETURN(c.units, json_int(j, "units", 1, 1 << 20));
  SLING_ASSIGN_OR_RETURN(c.use_bias, json_bool(j, "use_bias"));
  if (static_cast<int64_t>(c.in_features) * c.units > (int64_t{1} << 28))
    return invalid_argument("dense weight matrix of " + std::to_string(c.units) + " x " +
                            std::to_string(c.in_features) + " is too large");
  return std::unique_ptr<Layer>(new Dense(c));
}

void Dense::to_json(nlohmann::json& j) const {
  j["in_features"] = config_.in_features;
  j["units"] = config_.units;
  j["use_bias"] = config_.use_bias;
}

Result<Shape> Dense::output_shape(std::span<const Shape> inputs) const {
  SLING_RETURN_IF_ERROR(require_rank(inputs[0], 2, "dense"));
  if (inputs[0][1] != config_.in_features)
    return invalid_argument("dense expects " + std::to_string(config_.in_features) + " input features, got " +
                            shape_to_string(inputs[0]));
  return Shape{inputs[0][0], config_.units};
}

int64_t Dense::macs(std::span<const Shape>, const Shape&) const {
  return static_cast<int64_t>(config_.in_features) * config_.units;
}

template <class T>
Status Dense::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_ASSIGN_OR_RETURN(Shape out_shape, output_shape(std::span<const Shape>(&x.shape(), 1)));
  a.output->resize(out_shape);
  const DenseShape s{static_cast<int32_t>(x.dim(0)), config_.in_features, config_.units};
  std::vector<T> w, b;
  const T* weight = param_as<T>(params_[0].value, w);
  const T* bias = config_.use_bias ? param_as<T>(params_[1].value, b) : nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (uses_simd(a.kernels)) {
      scratch_at_least(a.scratch, dense_f32__simd_scratch_size(s));
      dense_forward_f32__simd(s, x.data(), weight, bias, a.output->data(), a.scratch->data());
      return Status::Ok();
    }
  }
  dense_forward__ref<T>(s, x.data(), weight, bias, a.output->data());
  return Status::Ok();
}

template <class T>
Status Dense::backward_t(const BackwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  const DenseShape s{static_cast<int32_t>(x.dim(0)), config_.in_features, config_.units};
  std::vector<T> w;
  const T* weight = param_as<T>(params_[0].value, w);
  T* grad_bias = config_.use_bias && !a.grad_params.empty() ? a.grad_params[1].data() : nullptr;
  if (a.grad_inputs[0]) a.grad_inputs[0]->resize(x.shape());
  if constexpr (std::is_same_v<T, float>) {
    if (uses_simd(a.kernels)) {
      scratch_at_least(a.scratch, dense_f32__simd_scratch_size(s));
      if (a.grad_inputs[0])
        dense_backward_input_f32__simd(s, a.grad_output->data(), weight, a.grad_inputs[0]->data(),
                                       a.scratch->data());
      if (!a.grad_params.empty())
        dense_backward_weights_f32__simd(s, x.data(), a.grad_output->data(), a.grad_params[0].data(), grad_bias,
                                         a.scratch->data());
      return Status::Ok();
    }
  }
  if (a.grad_inputs[0]) dense_backward_input__ref<T>(s, a.grad_output->data(), weight, a.grad_inputs[0]->data());
  if (!a.grad_params.empty())
    dense_backward_weights__ref<T>(s, x.data(), a.grad_output->data(), a.grad_params[0].data(), grad_bias);
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Dense);

}  // namespace slingshot
