// 2-D convolution layer: NHWC input, OHWI weights [filters, kh, kw, in_channels], optional bias.
#pragma once

#include "kernels/kernel_params.h"
#include "model/layer.h"

namespace slingshot {

struct Conv2DConfig {
  int in_channels = 0;           // channels of the input
  int filters = 0;               // output channels
  int kernel_h = 3;              // window height
  int kernel_w = 3;              // window width
  int stride_h = 1;              // vertical stride
  int stride_w = 1;              // horizontal stride
  Padding padding = Padding::kSame;  // TFLite SAME or VALID
  bool use_bias = true;          // false when a batch norm follows
};

class Conv2D final : public LayerBase<Conv2D> {
 public:
  explicit Conv2D(const Conv2DConfig& config);
  static Result<std::unique_ptr<Layer>> from_json(const nlohmann::json& j);

  const char* type() const override { return "conv2d"; }
  bool fuses_relu() const override { return true; }
  bool fuses_add() const override { return true; }
  bool accumulates_grad_input(KernelPath kernels) const override { return uses_simd(kernels); }
  Result<Shape> output_shape(std::span<const Shape> inputs) const override;
  int64_t macs(std::span<const Shape> inputs, const Shape& output) const override;
  void to_json(nlohmann::json& j) const override;
  const Conv2DConfig& config() const { return config_; }

  template <class T>
  Status forward_t(const ForwardArgs<T>& a) const;
  template <class T>
  Status backward_t(const BackwardArgs<T>& a) const;

 private:
  WindowShape window(const Shape& input) const;
  Conv2DConfig config_;
};

}  // namespace slingshot
