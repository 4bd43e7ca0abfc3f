// Parameter-free structural layers: global average pool, residual add, flatten, softmax.
#pragma once

#include "model/layer.h"

namespace slingshot {

// [N, H, W, C] -> [N, C], the mean over all pixels.
class GlobalAvgPool final : public LayerBase<GlobalAvgPool> {
 public:
  const char* type() const override { return "global_avg_pool"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json&) const override {}
  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;
};

// Element-wise sum of two tensors of the same shape (ResNet shortcuts).
class Add final : public LayerBase<Add> {
 public:
  const char* type() const override { return "add"; }
  int num_inputs() const override { return 2; }
  bool fuses_relu() const override { return true; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json&) const override {}
  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;
};

// [N, ...] -> [N, product of the rest]. Row-major NHWC order, as TFLite RESHAPE.
class Flatten final : public LayerBase<Flatten> {
 public:
  const char* type() const override { return "flatten"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json&) const override {}
  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;
};

// Softmax over the last axis. Training uses softmax_cross_entropy on logits instead,
// which is numerically better; this layer is for models that end in probabilities.
class Softmax final : public LayerBase<Softmax> {
 public:
  const char* type() const override { return "softmax"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json&) const override {}
  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;
};

}  // namespace slingshot
