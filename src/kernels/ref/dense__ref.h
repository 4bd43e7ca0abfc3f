// Reference fully connected layer. Weights are [out_dim, in_dim] (TFLite FULLY_CONNECTED layout).
#pragma once

#include "kernels/kernel_params.h"

namespace slingshot {

// output[b,o] = bias[o] + sum_i input[b,i] * weights[o,i]. `bias` may be null.
template <class T>
void dense_forward__ref(const DenseShape& s, const T* input, const T* weights, const T* bias, T* output);

// grad_input[b,i] = sum_o grad_output[b,o] * weights[o,i]. Overwrites.
template <class T>
void dense_backward_input__ref(const DenseShape& s, const T* grad_output, const T* weights, T* grad_input);

// grad_weights[o,i] = sum_b grad_output[b,o] * input[b,i]; grad_bias (may be null). Overwrites.
template <class T>
void dense_backward_weights__ref(const DenseShape& s, const T* input, const T* grad_output, T* grad_weights,
                                 T* grad_bias);

}  // namespace slingshot
