// Element-wise activations: ReLU and ReLU6 (the clipped ReLU MobileNet and DS-CNN use).
#pragma once

#include "model/layer.h"

namespace slingshot {

enum class ActivationKind { kRelu, kRelu6 };

class Activation final : public LayerBase<Activation> {
 public:
  explicit Activation(ActivationKind kind) : kind_(kind) {}

  const char* type() const override { return kind_ == ActivationKind::kRelu ? "relu" : "relu6"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override { return inputs[0]; }
  void to_json(nlohmann::json&) const override {}
  ActivationKind kind() const { return kind_; }
  // This activation as the ReLU a producing layer applies when the graph folds it in.
  FusedRelu as_fused() const;

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  ActivationKind kind_;
};

}  // namespace slingshot
