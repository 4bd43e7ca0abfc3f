// Max and average pooling over NHWC windows (TFLite padding semantics).
#pragma once

#include "kernels/kernel_params.h"
#include "model/layer.h"

namespace slingshot {

enum class PoolKind { kMax, kAverage };

struct Pool2DConfig {
  PoolKind kind = PoolKind::kMax;     // max or average
  int pool_h = 2;                     // window height
  int pool_w = 2;                     // window width
  int stride_h = 2;                   // vertical stride
  int stride_w = 2;                   // horizontal stride
  Padding padding = Padding::kValid;  // TFLite SAME or VALID
};

class Pool2D final : public LayerBase<Pool2D> {
 public:
  explicit Pool2D(const Pool2DConfig& config) : config_(config) {}
  // `kind` comes from the layer type name ("max_pool2d" or "avg_pool2d").
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j, PoolKind kind);

  const char* type() const override { return config_.kind == PoolKind::kMax ? "max_pool2d" : "avg_pool2d"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  void to_json(nlohmann::json& j) const override;
  const Pool2DConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  WindowShape window(const Shape& input) const;
  Pool2DConfig config_;
};

}  // namespace slingshot
