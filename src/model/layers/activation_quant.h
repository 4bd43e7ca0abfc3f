// Activation quantization for quantization-aware training: quantize-dequantize onto the
// `bits`-bit grid of a tracked range, with a straight-through gradient.
//
// Training mode quantizes with the batch's own [min, max] (widened to include 0) and
// records it; update_running_stats() folds it into an exponential moving average, the
// layer's "range" buffer, as batch norm does with its statistics (TensorFlow's
// moving-average fake-quant). Inference mode quantizes with that average. Before the
// first training step the range is empty and inference passes values through.
//
// Post-training quantization strips these nodes and takes each one's grid as the
// deployed grid of the value it follows, so the integer model runs exactly the grids
// the network was trained with (quant/activation_qat.h).
#pragma once

#include "model/layer.h"

namespace slingshot {

class ActivationQuant final : public LayerBase<ActivationQuant> {
 public:
  explicit ActivationQuant(int bits);
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "activation_quant"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override { return inputs[0]; }
  void to_json(nlohmann::json& j) const override;
  void update_running_stats(const std::vector<Tensor>& cache, float momentum) override;

  int bits() const { return bits_; }
  // The tracked range; false if no training step has recorded one yet.
  bool has_range() const;
  float range_min() const { return params_[0].value[0]; }
  float range_max() const { return params_[0].value[1]; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  int bits_;
};

}  // namespace slingshot
