// Pooling layers on top of the reference pooling kernels.
#include "model/layers/pool2d.h"

#include <nlohmann/json.hpp>

#include "kernels/ref/pool2d__ref.h"
#include "model/json_fields.h"

namespace slingshot {

Result<std::unique_ptr<Layer>> Pool2D::from_json(const nlohmann::json& j, PoolKind kind) {
  Pool2DConfig c;
  c.kind = kind;
  SLING_ASSIGN_OR_RETURN(auto k, json_int_pair(j, "pool", 1, 256));
  SLING_ASSIGN_OR_RETURN(auto s, json_int_pair(j, "strides", 1, 256));
  SLING_ASSIGN_OR_RETURN(c.padding, json_padding(j, "padding"));
  c.pool_h = k[0], c.pool_w = k[1], c.stride_h = s[0], c.stride_w = s[1];
  return std::unique_ptr<Layer>(new Pool2D(c));
}

void Pool2D::to_json(nlohmann::json& j) const {
  j["pool"] = {config_.pool_h, config_.pool_w};
  j["strides"] = {config_.stride_h, config_.stride_w};
  j["padding"] = padding_name(config_.padding);
}

WindowShape Pool2D::window(const Shape& in) const {
  const Dims4 d = to_dims4(in);
  return make_window_shape(d, config_.pool_h, config_.pool_w, config_.stride_h, config_.stride_w, config_.padding,
                           d.c);
}

Result<Shape> Pool2D::output_shape(std::span<const Shape> inputs) const {
  SLING_RETURN_IF_ERROR(require_rank(inputs[0], 4, type()));
  const WindowShape s = window(inputs[0]);
  if (s.output.h <= 0 || s.output.w <= 0)
    return invalid_argument(std::string(type()) + " window does not fit the input " + shape_to_string(inputs[0]));
  return Shape{s.output.n, s.output.h, s.output.w, s.output.c};
}

template <class T>
Status Pool2D::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  SLING_ASSIGN_OR_RETURN(Shape out_shape, output_shape(std::span<const Shape>(&x.shape(), 1)));
  a.output->resize(out_shape);
  if (config_.kind == PoolKind::kMax)
    max_pool2d_forward__ref<T>(window(x.shape()), x.data(), a.output->data());
  else
    avg_pool2d_forward__ref<T>(window(x.shape()), x.data(), a.output->data());
  return Status::Ok();
}

template <class T>
Status Pool2D::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& x = *a.inputs[0];
  a.grad_inputs[0]->resize(x.shape());
  if (config_.kind == PoolKind::kMax)
    max_pool2d_backward__ref<T>(window(x.shape()), x.data(), a.grad_output->data(), a.grad_inputs[0]->data());
  else
    avg_pool2d_backward__ref<T>(window(x.shape()), a.grad_output->data(), a.grad_inputs[0]->data());
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Pool2D);

}  // namespace slingshot
