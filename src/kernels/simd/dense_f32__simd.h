// Highway float32 fully connected layer. Same contract as dense__ref.h; results match
// it to float rounding, which tests bound.
#pragma once

#include <cstddef>

#include "kernels/kernel_params.h"

namespace slingshot {

// Floats of scratch the dense passes below need for shape `s`.
size_t dense_f32__simd_scratch_size(const DenseShape& s);

void dense_forward_f32__simd(const DenseShape& s, const float* input, const float* weights, const float* bias,
                             float* output, float* scratch);
// Overwrites grad_input.
void dense_backward_input_f32__simd(const DenseShape& s, const float* grad_output, const float* weights,
                                    float* grad_input, float* scratch);
// Overwrites grad_weights and grad_bias (may be null).
void dense_backward_weights_f32__simd(const DenseShape& s, const float* input, const float* grad_output,
                                      float* grad_weights, float* grad_bias, float* scratch);

}  // namespace slingshot
