// Reference 2-D convolution (NHWC input, OHWI filter): the oracle every optimized
// conv variant is tested against. Templated so gradient checks can run it in double.
#pragma once

#include "kernels/kernel_params.h"

namespace slingshot {

// output[n,oy,ox,oc] = bias[oc] + sum input[n,iy,ix,ic] * filter[oc,ky,kx,ic]. `bias` may be null.
template <class T>
void conv2d_forward__ref(const WindowShape& s, const T* input, const T* filter, const T* bias, T* output);

// grad_input = d(loss)/d(input) given grad_output. Overwrites grad_input.
template <class T>
void conv2d_backward_input__ref(const WindowShape& s, const T* grad_output, const T* filter, T* grad_input);

// grad_filter (OHWI) and grad_bias (may be null), summed over the batch. Overwrites both.
template <class T>
void conv2d_backward_filter__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_filter,
                                 T* grad_bias);

}  // namespace slingshot
