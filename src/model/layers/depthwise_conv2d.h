// Depthwise 2-D convolution layer, depth multiplier 1: weights [1, kh, kw, channels] (TFLite layout).
#pragma once

#include "kernels/kernel_params.h"
#include "model/layer.h"

namespace slingshot {

struct DepthwiseConv2DConfig {
  int channels = 0;              // input and output channels
  int kernel_h = 3;              // window height
  int kernel_w = 3;              // window width
  int stride_h = 1;              // vertical stride
  int stride_w = 1;              // horizontal stride
  Padding padding = Padding::kSame;  // TFLite SAME or VALID
  bool use_bias = true;          // false when a batch norm follows
};

class DepthwiseConv2D final : public LayerBase<DepthwiseConv2D> {
 public:
  explicit DepthwiseConv2D(const DepthwiseConv2DConfig& config);
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "depthwise_conv2d"; }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  int64_t macs(std::span<const Shape> inputs, const Shape& output) const override;
  void to_json(nlohmann::json& j) const override;
  const DepthwiseConv2DConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  WindowShape window(const Shape& input) const;
  DepthwiseConv2DConfig config_;
};

}  // namespace slingshot
