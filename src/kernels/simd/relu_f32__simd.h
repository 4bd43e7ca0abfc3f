// Highway float32 ReLU / ReLU6 forward and backward, bit-exact with relu__ref (the same
// compare-and-select per element, so NaN and -0 map alike). Natively the call dispatches
// to the best Highway target of the CPU; in wasm it is compiled for SIMD128.
#pragma once

#include <cstdint>

namespace slingshot {

// Same contract and result as relu_forward__ref<float>.
void relu_forward_f32__simd(int64_t count, const float* x, float upper, float* y);
// Same contract and result as relu_backward__ref<float>; grad_x may be grad_y (in place).
void relu_backward_f32__simd(int64_t count, const float* x, const float* grad_y, float upper, float* grad_x);

}  // namespace slingshot
