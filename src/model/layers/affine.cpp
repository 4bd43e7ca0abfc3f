// The constant affine map (see affine.h).
#include "model/layers/affine.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/json_fields.h"

namespace slingshot {

Result<std::unique_ptr<Layer>> Affine::from_json(const nlohmann::json& j) {
  AffineConfig c;
  SLING_ASSIGN_OR_RETURN(c.scale, json_number(j, "scale", -1e30, 1e30));
  SLING_ASSIGN_OR_RETURN(c.offset, json_number(j, "offset", -1e30, 1e30));
  if (c.scale == 0 || static_cast<float>(c.scale) == 0) return invalid_argument("scale must be non-zero");
  return std::unique_ptr<Layer>(new Affine(c));
}

void Affine::to_json(nlohmann::json& j) const {
  j["scale"] = config_.scale;
  j["offset"] = config_.offset;
}

template <class T>
Status Affine::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  a.output->resize(x.shape());
  // The float constants, so float and double passes apply the same map.
  const T scale = static_cast<T>(static_cast<float>(config_.scale));
  const T offset = static_cast<T>(static_cast<float>(config_.offset));
  for (int64_t i = 0; i < x.numel(); ++i) (*a.output)[i] = scale * x[i] + offset;
  return Status::Ok();
}

template <class T>
Status Affine::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(a.inputs[0]->shape());
  const T scale = static_cast<T>(static_cast<float>(config_.scale));
  for (int64_t i = 0; i < dx.numel(); ++i) dx[i] = scale * (*a.grad_output)[i];
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Affine);

}  // namespace slingshot
