// Batch normalization over the last (channel) axis of NHWC or [N, C] inputs.
// Training mode normalizes with batch statistics and records them for the running
// averages; inference mode uses the running statistics. fold_batch_norm() removes it
// for deployment.
#pragma once

#include "model/layer.h"

namespace slingshot {

struct BatchNormConfig {
  int channels = 0;        // size of the normalized (last) axis
  float epsilon = 1e-3f;   // added to the variance (Keras default)
};

class BatchNorm final : public LayerBase<BatchNorm> {
 public:
  explicit BatchNorm(const BatchNormConfig& config);
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "batch_norm"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json& j) const override;
  void update_running_stats(const std::vector<Tensor>& cache, float momentum) override;
  const BatchNormConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  BatchNormConfig config_;
};

}  // namespace slingshot
