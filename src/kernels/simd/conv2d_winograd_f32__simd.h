// Highway float32 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3)
// (Lavin & Gray 2016), NHWC input and OHWI filter as conv2d__ref.h. Each 4x4 output tile
// costs 36 products per input/output channel pair instead of 144, for about 2.7x fewer
// multiply-adds than conv2d_f32__simd on ResNet-sized layers once the transforms are paid.
//
// The price is rounding: the transforms scale values by up to 8 and divide by 6 and 24,
// so results match the reference to about 1e-5 of S = sum |w * x| (tests bound it) rather
// than conv2d_f32__simd's 1e-6, and are not exact on integer data. That is why the float
// graph uses it only on KernelPath::kSimdWinograd (attack gradients), never for
// predictions, training or the fake-quant forward that must agree with the int8 engine.
#pragma once

#include <cstddef>

#include "kernels/kernel_params.h"

namespace slingshot {

// True for a shape these kernels compute: 3x3 window, stride 1, padding of at most 2 on
// the top and left (always the case for SAME and VALID), and at least 8 input and output
// channels (below that the transforms cost more than the products they save).
bool conv2d_winograd_f32_supports(const WindowShape& s);

// Floats of scratch every pass below needs for shape `s` (which they support).
size_t conv2d_winograd_f32__simd_scratch_size(const WindowShape& s);

// With `residual` (shaped as the output), output = conv + bias + residual: a residual add
// folded in. With `relu`, outputs then go through the ReLU as they are stored.
void conv2d_winograd_forward_f32__simd(const WindowShape& s, const float* input, const float* filter,
                                       const float* bias, float* output, float* scratch, FusedRelu relu = {},
                                       const float* residual = nullptr);

// Overwrites grad_input, or adds to it with `accumulate`. A 3x3 stride-1 backward-input
// pass is a forward convolution of grad_output with the filter rotated by 180 degrees and
// transposed, so it runs through the same transforms; it is supported whenever the
// forward shape is.
void conv2d_winograd_backward_input_f32__simd(const WindowShape& s, const float* grad_output, const float* filter,
                                              float* grad_input, float* scratch, bool accumulate = false);

// The same passes with the filter transformed once ahead: the transform (in double) costs
// as much as the convolution of a small batch, and attack gradients run one filter over
// many chunks of samples. A transformed filter holds conv2d_winograd_f32_filter_size(s)
// floats and is specific to its pass.
enum class WinogradPass { kForward, kBackwardInput };
size_t conv2d_winograd_f32_filter_size(const WindowShape& s);
void conv2d_winograd_transform_filter_f32(const WindowShape& s, const float* filter, WinogradPass pass,
                                          float* transformed);
void conv2d_winograd_forward_transformed_f32__simd(const WindowShape& s, const float* input, const float* transformed,
                                                   const float* bias, float* output, float* scratch,
                                                   FusedRelu relu = {}, const float* residual = nullptr);
void conv2d_winograd_backward_input_transformed_f32__simd(const WindowShape& s, const float* grad_output,
                                                          const float* transformed, float* grad_input,
                                                          float* scratch, bool accumulate = false);

}  // namespace slingshot
