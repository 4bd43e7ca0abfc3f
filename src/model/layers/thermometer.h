// The thermometer encoding (Buckman et al., ICLR 2018) as an input-encoding layer at the
// head of a graph: [N, ..., C] values in [lo, hi] become [N, ..., C * levels] bits, the
// bits of channel c at c * levels .. c * levels + levels - 1 (defenses/thermometer.h). It
// has no parameters; [lo, hi] is the model's input range (the image domain [0, 1] for
// image models).
//
// Forward is the exact encoding, so every engine classifies the hard bits. Backward is
// NOT the derivative of forward (that is zero almost everywhere, which would only mask
// gradients): it is the derivative of the encoding's continuous relaxation, one clipped
// ramp per level centered on that level's threshold,
//   ramp_k(v) = clip(levels * u - k + 1/2, 0, 1),  u = (v - lo) / (hi - lo),  k = 1 .. levels - 1,
// with bit 0 (always set) constant. So gradients through this layer are BPDA gradients
// (Athalye et al. 2018): the forward pass is exact, the backward pass differentiates the
// relaxation. Each value gets slope levels / (hi - lo) from the one level whose threshold
// lies within half a bucket of it; values farther than half a bucket from every
// threshold (the lowest and highest half buckets) get none, as no perturbation smaller
// than that can change their bits.
//
// Quantized, the output grid is scale 1 with the zero point at the lowest code, so bits 0
// and 1 are codes qmin and qmin + 1, exactly; the integer engines compare input codes with
// one threshold code per level (kernels/ref/thermometer_s8__ref.h).
#pragma once

#include "model/layer.h"

namespace slingshot {

struct ThermometerConfig {
  int levels = 16;   // bits per value, in [kMinThermometerLevels, kMaxThermometerLevels]
  float lo = 0.0f;   // the input range the levels divide evenly
  float hi = 1.0f;   // > lo
};

// The relaxation of bit k of value v (k >= 1; bit 0 is the constant 1).
template <class T>
T thermometer_ramp(T v, const ThermometerConfig& c, int k) {
  const T t = static_cast<T>(c.levels) * (v - static_cast<T>(c.lo)) / (static_cast<T>(c.hi) - static_cast<T>(c.lo)) -
              static_cast<T>(k) + static_cast<T>(0.5);
  return t <= 0 ? T(0) : t >= 1 ? T(1) : t;
}

class Graph;
// Whether any node of `g` is a thermometer layer (its gradients are then BPDA).
bool has_thermometer_head(const Graph& g);
// What reports say about such gradients.
constexpr const char* kThermometerRelaxationNote =
    "thermometer layer: exact encoding forward, its per-level clipped-ramp relaxation backward (BPDA)";

class Thermometer final : public LayerBase<Thermometer> {
 public:
  explicit Thermometer(const ThermometerConfig& config) : config_(config) {}
  // Checks levels and range.
  static Result<std::unique_ptr<Layer>> make(const ThermometerConfig& config);
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "thermometer"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json& j) const override;
  const ThermometerConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  // The relaxation's derivative (BPDA), see the file comment.
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  ThermometerConfig config_;
};

}  // namespace slingshot
