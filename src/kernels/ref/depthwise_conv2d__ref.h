// Reference depthwise 2-D convolution, depth multiplier 1. Filter layout [1, kh, kw, C] (TFLite).
#pragma once

#include "kernels/kernel_params.h"

namespace slingshot {

// output[n,oy,ox,c] = bias[c] + sum input[n,iy,ix,c] * filter[ky,kx,c]. `bias` may be null.
template <class T>
void depthwise_conv2d_forward__ref(const WindowShape& s, const T* input, const T* filter, const T* bias, T* output);

// Overwrites grad_input.
template <class T>
void depthwise_conv2d_backward_input__ref(const WindowShape& s, const T* grad_output, const T* filter, T* grad_input);

// Overwrites grad_filter and grad_bias (may be null), summed over the batch.
template <class T>
void depthwise_conv2d_backward_filter__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_filter,
                                           T* grad_bias);

}  // namespace slingshot
