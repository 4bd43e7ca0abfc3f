// Highway float32 elementwise addition, bit-exact with add__ref (one rounded add per
// element). Natively the call dispatches to the best Highway target of the CPU; in wasm
// it is compiled for SIMD128.
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"

namespace slingshot {

// Same contract and result as add__ref<float>: y[i] = a[i] + b[i]; y may alias a or b.
// With `relu`, y is that sum through the ReLU (as relu_forward__ref would give).
void add_f32__simd(int64_t count, const float* a, const float* b, float* y, FusedRelu relu = {});

}  // namespace slingshot
