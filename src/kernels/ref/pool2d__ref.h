// Reference max and average pooling (NHWC) and global average pooling.
// Out-of-bounds positions under SAME padding are ignored, as in TFLite: a max never
// sees a padded zero and an average divides by the count of in-bounds elements.
#pragma once

#include "kernels/kernel_params.h"

namespace slingshot {

template <class T>
void max_pool2d_forward__ref(const WindowShape& s, const T* input, T* output);
// Routes each output gradient to the first maximal input of its window. Overwrites grad_input.
template <class T>
void max_pool2d_backward__ref(const WindowShape& s, const T* input, const T* grad_output, T* grad_input);

template <class T>
void avg_pool2d_forward__ref(const WindowShape& s, const T* input, T* output);
// Overwrites grad_input.
template <class T>
void avg_pool2d_backward__ref(const WindowShape& s, const T* grad_output, T* grad_input);

// [N,H,W,C] -> [N,C].
template <class T>
void global_avg_pool_forward__ref(const Dims4& in, const T* input, T* output);
// Overwrites grad_input.
template <class T>
void global_avg_pool_backward__ref(const Dims4& in, const T* grad_output, T* grad_input);

}  // namespace slingshot
