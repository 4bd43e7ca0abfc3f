// Highway int8 max pooling (NHWC), bit-exact with max_pool2d_s8__ref (TFLite int8
// MAX_POOL_2D: the max of the raw values over the in-bounds taps, then the clamp). No
// scratch. Natively the call dispatches to the best Highway target of the CPU; in wasm it
// is compiled for SIMD128.
#pragma once

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// Same contract and result, bit for bit, as max_pool2d_s8__ref (see max_pool2d_s8__ref.h).
void max_pool2d_s8__simd(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output);

}  // namespace slingshot
