// A constant per-tensor affine map y = scale * x + offset. Imported TFLite models put one
// after the input to carry our [0, 1] pixels into the file's own input domain (0..255 for
// the MLPerf ResNet-8), so the rest of the graph keeps the file's numbers. The integer
// engines lower it to nothing: its input and output grids hold the same codes
// (quant/input_mapping.h checks that), so it costs no kernel and no rounding.
#pragma once

#include "model/layer.h"

namespace slingshot {

struct AffineConfig {
  double scale = 1.0;   // non-zero, finite (stored as float, as the layer applies it)
  double offset = 0.0;  // finite
};

class Affine final : public LayerBase<Affine> {
 public:
  explicit Affine(const AffineConfig& config) : config_(config) {}
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "affine"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override { return inputs[0]; }
  void to_json(nlohmann::json& j) const override;
  const AffineConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  AffineConfig config_;
};

}  // namespace slingshot
