// Highway float32 2-D convolution (NHWC input, OHWI filter): im2col plus a register-
// blocked GEMM. Same contract as conv2d__ref.h; results match it to float rounding
// (summation order differs), which tests bound.
#pragma once

#include <cstddef>

#include "kernels/kernel_params.h"

namespace slingshot {

// Floats of scratch the three conv passes below need for shape `s`.
size_t conv2d_f32__simd_scratch_size(const WindowShape& s);

// With `residual` (shaped as the output), output = conv + bias + residual: a residual add
// folded in. With `relu`, outputs then go through the ReLU as they are stored.
void conv2d_forward_f32__simd(const WindowShape& s, const float* input, const float* filter, const float* bias,
                              float* output, float* scratch, FusedRelu relu = {}, const float* residual = nullptr);
// Overwrites grad_input, or with `accumulate` adds to it (a node's later consumer adds
// its share, where the graph would otherwise need a buffer and an add pass).
void conv2d_backward_input_f32__simd(const WindowShape& s, const float* grad_output, const float* filter,
                                     float* grad_input, float* scratch, bool accumulate = false);
// Overwrites grad_filter and grad_bias (may be null).
void conv2d_backward_filter_f32__simd(const WindowShape& s, const float* input, const float* grad_output,
                                      float* grad_filter, float* grad_bias, float* scratch);

}  // namespace slingshot
