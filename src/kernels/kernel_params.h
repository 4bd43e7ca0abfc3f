// Parameter structs shared by every kernel variant (ref, simd, Cortex-M).
// Plain data, no heap, no exceptions: this header builds for the firmware too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace slingshot {

// An NHWC activation shape.
struct Dims4 {
  int32_t n;  // batch
  int32_t h;  // height
  int32_t w;  // width
  int32_t c;  // channels
  int64_t size() const { return static_cast<int64_t>(n) * h * w * c; }
};

// A ReLU a float kernel applies to its outputs as it stores them:
// y = x > 0 ? min(x, upper) : 0, which is relu_forward__ref's result bit for bit. The
// float graph folds a ReLU or ReLU6 into the layer that feeds it this way (Graph::forward).
struct FusedRelu {
  bool enabled = false;
  float upper = 0;  // +infinity for a plain ReLU
};

enum class Padding : uint8_t {
  kValid = 0,  // no padding; windows stay inside the input
  kSame = 1,   // TFLite SAME: output = ceil(input / stride), extra padding at bottom/right
};

// Output extent of a windowed op along one axis; 0 if the window never fits.
inline int32_t window_output_size(int32_t in, int32_t k, int32_t stride, Padding p) {
  if (p == Padding::kSame) return (in + stride - 1) / stride;
  return in >= k ? (in - k) / stride + 1 : 0;
}

// Padding before the first element (top or left), as TFLite computes it for SAME.
inline int32_t window_pad_before(int32_t in, int32_t k, int32_t stride, int32_t out) {
  const int32_t total = (out - 1) * stride + k - in;
  return total > 0 ? total / 2 : 0;
}

// Geometry of a 2-D window op (conv, depthwise conv, pooling) after padding is resolved.
struct WindowShape {
  Dims4 input;       // NHWC input
  Dims4 output;      // NHWC output
  int32_t kernel_h;  // window height
  int32_t kernel_w;  // window width
  int32_t stride_h;  // vertical stride
  int32_t stride_w;  // horizontal stride
  int32_t pad_top;   // rows of implicit zeros above the input
  int32_t pad_left;  // columns of implicit zeros left of the input
};

// Resolves padding and output size. `out_channels` is the output channel count.
inline WindowShape make_window_shape(Dims4 input, int32_t kernel_h, int32_t kernel_w, int32_t stride_h,
                                     int32_t stride_w, Padding padding, int32_t out_channels) {
  WindowShape s{};
  s.input = input;
  s.kernel_h = kernel_h;
  s.kernel_w = kernel_w;
  s.stride_h = stride_h;
  s.stride_w = stride_w;
  s.output.n = input.n;
  s.output.h = window_output_size(input.h, kernel_h, stride_h, padding);
  s.output.w = window_output_size(input.w, kernel_w, stride_w, padding);
  s.output.c = out_channels;
  s.pad_top = padding == Padding::kSame ? window_pad_before(input.h, kernel_h, stride_h, s.output.h) : 0;
  s.pad_left = padding == Padding::kSame ? window_pad_before(input.w, kernel_w, stride_w, s.output.w) : 0;
  return s;
}

// Geometry of a fully connected layer.
struct DenseShape {
  int32_t batch;    // rows of the input
  int32_t in_dim;   // input features
  int32_t out_dim;  // output features
};

}  // namespace slingshot
