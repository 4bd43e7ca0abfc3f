// Fake quantization (quantize-dequantize) onto a per-tensor affine grid: the float
// mirror of an integer engine's tensor. Forward rounds half away from zero (TFLite's
// quantize) and clamps to [qmin, qmax]; backward is the straight-through estimator,
// passing the gradient where the input lies inside the grid's real range and zero
// outside it (TensorFlow's FakeQuantWithMinMaxVars gradient), unless clip_gradient is off.
#pragma once

#include "model/layer.h"

namespace slingshot {

struct FakeQuantConfig {
  double scale = 1.0;      // grid step, > 0 (stored as float by the grid it mirrors)
  int zero_point = 0;      // code of real 0, in [qmin, qmax]
  int qmin = -128;         // lowest code
  int qmax = 127;          // highest code
  // Whether backward zeroes the gradient outside the grid's range (TensorFlow's). The
  // logits' node passes it everywhere: a clamp of saturated logits would mask the
  // direction that changes the decision (an MLPerf VWW file's logits saturate often).
  bool clip_gradient = true;
};

class FakeQuant final : public LayerBase<FakeQuant> {
 public:
  explicit FakeQuant(const FakeQuantConfig& config) : config_(config) {}
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "fake_quant"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override { return inputs[0]; }
  void to_json(nlohmann::json& j) const override;
  const FakeQuantConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  FakeQuantConfig config_;
};

}  // namespace slingshot
