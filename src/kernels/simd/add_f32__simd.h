// Highway float32 elementwise addition, bit-exact with add__ref (one rounded add per
// element). Natively the call dispatches to the best Highway target of the CPU; in wasm
// it is compiled for SIMD128.
#pragma once

#include <cstdint>

namespace slingshot {

// Same contract and result as add__ref<float>: y[i] = a[i] + b[i]; y may alias a or b.
void add_f32__simd(int64_t count, const float* a, const float* b, float* y);

}  // namespace slingshot
