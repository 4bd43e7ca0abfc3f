// Fully connected layer: input [N, in_features], weights [units, in_features], optional bias.
#pragma once

#include "model/layer.h"

namespace slingshot {

struct DenseConfig {
  int in_features = 0;   // input width
  int units = 0;         // output width
  bool use_bias = true;  // false when a batch norm follows
};

class Dense final : public LayerBase<Dense> {
 public:
  explicit Dense(const DenseConfig& config);
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "dense"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  int64_t macs(std::span<const Shape> inputs, const Shape& output) const override;
  void to_json(nlohmann::json& j) const override;
  const DenseConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  DenseConfig config_;
};

}  // namespace slingshot
