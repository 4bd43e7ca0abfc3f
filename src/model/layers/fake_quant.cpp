// Quantize-dequantize with a straight-through gradient (see fake_quant.h).
#include "model/layers/fake_quant.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/json_fields.h"

namespace slingshot {

Result<std::unique_ptr<Layer>> FakeQuant::from_json(const nlohmann::json& j) {
  FakeQuantConfig c;
  SLING_ASSIGN_OR_RETURN(c.scale, json_number(j, "scale", 1e-30, 1e30));
  SLING_ASSIGN_OR_RETURN(c.qmin, json_int(j, "qmin", -128, 127));
  SLING_ASSIGN_OR_RETURN(c.qmax, json_int(j, "qmax", -128, 127));
  if (c.qmin >= c.qmax) return invalid_argument("qmin must be below qmax");
  SLING_ASSIGN_OR_RETURN(c.zero_point, json_int(j, "zero_point", c.qmin, c.qmax));
  if (j.contains("clip_gradient")) {
    if (!j["clip_gradient"].is_boolean()) return invalid_argument("field 'clip_gradient' must be true or false");
    c.clip_gradient = j["clip_gradient"].get<bool>();
  }
  return std::unique_ptr<Layer>(new FakeQuant(c));
}

void FakeQuant::to_json(nlohmann::json& j) const {
  j["scale"] = config_.scale;
  j["zero_point"] = config_.zero_point;
  j["qmin"] = config_.qmin;
  j["qmax"] = config_.qmax;
  if (!config_.clip_gradient) j["clip_gradient"] = false;
}

template <class T>
Status FakeQuant::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  a.output->resize(x.shape());
  // In float the grid arithmetic matches ActivationGrid::quantize/dequantize exactly.
  const T scale = static_cast<T>(static_cast<float>(config_.scale));
  const T zp = static_cast<T>(config_.zero_point);
  const T lo = static_cast<T>(config_.qmin), hi = static_cast<T>(config_.qmax);
  for (int64_t i = 0; i < x.numel(); ++i) {
    T q = std::round(x[i] / scale) + zp;
    q = q < lo ? lo : (q > hi ? hi : q);
    (*a.output)[i] = scale * (q - zp);
  }
  return Status::Ok();
}

template <class T>
Status FakeQuant::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& x = *a.inputs[0];
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(x.shape());
  const T scale = static_cast<T>(static_cast<float>(config_.scale));
  const T lo = scale * static_cast<T>(config_.qmin - config_.zero_point);
  const T hi = scale * static_cast<T>(config_.qmax - config_.zero_point);
  for (int64_t i = 0; i < x.numel(); ++i)
    dx[i] = (!config_.clip_gradient || (x[i] >= lo && x[i] <= hi)) ? (*a.grad_output)[i] : T(0);
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(FakeQuant);

}  // namespace slingshot
