// Moving-average activation fake-quant with a straight-through gradient (see activation_quant.h).
#include "model/layers/activation_quant.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "model/json_fields.h"
#include "quant/activation_grid.h"

namespace slingshot {

// Parameter order: range (buffer) = [min, max], both 0 until the first training step.
ActivationQuant::ActivationQuant(int bits) : bits_(bits) {
  params_.push_back({"range", Tensor({2}, 0.0f), false});
}

Result<std::unique_ptr<Layer>> ActivationQuant::from_json(const nlohmann::json& j) {
  SLING_ASSIGN_OR_RETURN(int bits, json_int(j, "bits", 1, 8));
  return std::unique_ptr<Layer>(new ActivationQuant(bits));
}

void ActivationQuant::to_json(nlohmann::json& j) const { j["bits"] = bits_; }

bool ActivationQuant::has_range() const { return range_max() > range_min(); }

void ActivationQuant::update_running_stats(const std::vector<Tensor>& cache, float momentum) {
  if (cache.size() < 2 || cache[1][0] == 0.0f) return;  // not a training pass
  Tensor& r = params_[0].value;
  const float lo = cache[0][0], hi = cache[0][1];
  if (!has_range()) {
    r[0] = lo;
    r[1] = hi;
  } else {
    r[0] = momentum * r[0] + (1 - momentum) * lo;
    r[1] = momentum * r[1] + (1 - momentum) * hi;
  }
}

// Cache layout: [0] the batch range [min, max] (training) or the range used,
// [1] one value, 1 for a training pass, [2] the real interval [lo, hi] the grid covers
// (empty when values passed through), outside which the gradient is zero.
template <class T>
Status ActivationQuant::forward_t(const ForwardArgs<T>& a) const {
  const TensorT<T>& x = *a.inputs[0];
  auto& cache = *a.cache;
  cache.resize(3);
  const bool train = a.mode == Mode::kTrain;
  cache[1] = TensorT<T>({1}, train ? T(1) : T(0));
  float lo = range_min(), hi = range_max();
  if (train) {
    lo = 0.0f;  // the grid always contains 0
    hi = 0.0f;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = static_cast<float>(x[i]);
      if (!std::isfinite(v))
        return invalid_argument("activation_quant: non-finite activation " + std::to_string(v) + " in training");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  cache[0] = TensorT<T>({2});
  cache[0][0] = static_cast<T>(lo);
  cache[0][1] = static_cast<T>(hi);
  a.output->resize(x.shape());
  if (!(hi > lo)) {  // no range yet (or an all-zero batch): identity
    cache[2] = TensorT<T>();
    std::copy(x.storage().begin(), x.storage().end(), a.output->data());
    return Status::Ok();
  }
  const ActivationGrid g = grid_for_range(lo, hi, bits_);
  // The same float arithmetic as ActivationGrid::quantize/dequantize and the fake-quant layer.
  const T scale = static_cast<T>(g.scale);
  const T zp = static_cast<T>(g.zero_point), qlo = static_cast<T>(g.qmin), qhi = static_cast<T>(g.qmax);
  for (int64_t i = 0; i < x.numel(); ++i) {
    T q = std::round(x[i] / scale) + zp;
    q = q < qlo ? qlo : (q > qhi ? qhi : q);
    (*a.output)[i] = scale * (q - zp);
  }
  cache[2] = TensorT<T>({2});
  cache[2][0] = scale * (qlo - zp);
  cache[2][1] = scale * (qhi - zp);
  return Status::Ok();
}

template <class T>
Status ActivationQuant::backward_t(const BackwardArgs<T>& a) const {
  if (!a.grad_inputs[0]) return Status::Ok();
  const TensorT<T>& x = *a.inputs[0];
  TensorT<T>& dx = *a.grad_inputs[0];
  dx.resize(x.shape());
  const TensorT<T>& bounds = (*a.cache)[2];
  const bool clamps = bounds.numel() == 2;
  const T lo = clamps ? bounds[0] : T(0), hi = clamps ? bounds[1] : T(0);
  for (int64_t i = 0; i < x.numel(); ++i)
    dx[i] = (!clamps || (x[i] >= lo && x[i] <= hi)) ? (*a.grad_output)[i] : T(0);
  return Status::Ok();
}

SLING_INSTANTIATE_LAYER(ActivationQuant);

}  // namespace slingshot
