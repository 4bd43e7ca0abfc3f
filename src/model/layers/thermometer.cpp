// The thermometer input-encoding layer (see thermometer.h).
#include "model/layers/thermometer.h"

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "defenses/thermometer.h"
#include "model/graph.h"
#include "model/json_fields.h"

namespace slingshot {

bool has_thermometer_head(const Graph& g) {
  for (int i = 1; i < g.num_nodes(); ++i)
    if (std::string_view(g.node(i).layer->type()) == "thermometer") return true;
  return false;
}

Result<std::unique_ptr<Layer>> Thermometer::make(const ThermometerConfig& c) {
  if (c.levels < kMinThermometerLevels || c.levels > kMaxThermometerLevels)
    return invalid_argument("thermometer levels must be in " + std::to_string(kMinThermometerLevels) + ".." +
                            std::to_string(kMaxThermometerLevels) + ", got " + std::to_string(c.levels));
  if (!std::isfinite(c.lo) || !std::isfinite(c.hi) || !(c.hi > c.lo))
    return invalid_argument("thermometer range needs finite lo < hi, got [" + std::to_string(c.lo) + ", " +
                            std::to_string(c.hi) + "]");
  return std::unique_ptr<Layer>(new Thermometer(c));
}

Result<std::unique_ptr<Layer>> Thermometer::from_json(const nlohmann::json& j) {
  ThermometerConfig c;
  SLING_ASSIGN_OR_RETURN(c.levels, json_int(j, "levels", kMinThermometerLevels, kMaxThermometerLevels));
  SLING_ASSIGN_OR_RETURN(const double lo, json_number(j, "lo", -1e30, 1e30));
  SLING_ASSIGN_OR_RETURN(const double hi, json_number(j, "hi", -1e30, 1e30));
  c.lo = static_cast<float>(lo);
  c.hi = static_cast<float>(hi);
  return make(c);
}

void Thermometer::to_json(nlohmann::json& j) const {
  j["levels"] = config_.levels;
  j["lo"] = config_.lo;
  j["hi"] = config_.hi;
}

Result<Shape> Thermometer::output_shape(std::span<const Shape> inputs) const {
  const Shape& in = inputs[0];
  if (in.size() < 2) return invalid_argument("thermometer needs [N, ..., C], got " + shape_to_string(in));
  Shape out = in;
  out.back() *= config_.levels;
  return out;
}

template <class T>
Status Thermometer::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  Shape shape = x.shape();
  shape.back() *= config_.levels;
  a.output->resize(shape);
  const int levels = config_.levels;
  for (int64_t i = 0; i < x.numel(); ++i) {
    // The exact encoding of the float value (double passes round to float first, so both
    // encode the same way).
    const int ones = thermometer_ones(static_cast<float>(x[i]), config_.lo, config_.hi, levels);
    T* bits = a.output->data() + i * levels;
    for (int k = 0; k < levels; ++k) bits[k] = k < ones ? T(1) : T(0);
  }
  return Status::Ok();
}

template <class T>
Status Thermometer::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& x = *a.inputs[0];
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(x.shape());
  const int levels = config_.levels;
  const T slope = static_cast<T>(levels) / (static_cast<T>(config_.hi) - static_cast<T>(config_.lo));
  const T* dy = a.grad_output->data();
  for (int64_t i = 0; i < x.numel(); ++i) {
    // levels * u + 1/2 lies strictly inside (k, k + 1) for at most one level k: the ramp
    // of that level is the only one with a slope here.
    const T t = static_cast<T>(levels) * (x[i] - static_cast<T>(config_.lo)) /
                    (static_cast<T>(config_.hi) - static_cast<T>(config_.lo)) +
                static_cast<T>(0.5);
    const T k = std::floor(t);
    const bool inside = k >= 1 && k <= levels - 1 && t > k;
    dx[i] = inside ? slope * dy[i * levels + static_cast<int64_t>(k)] : T(0);
  }
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(Thermometer);

}  // namespace slingshot
