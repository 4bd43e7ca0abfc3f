// Highway int8 elementwise addition (same shapes, no broadcasting), bit-exact with
// add_s8__ref (TFLite int8 ADD arithmetic, both rounding modes). No scratch. Natively the
// call dispatches to the best Highway target of the CPU; in wasm it is compiled for SIMD128.
#pragma once

#include <cstdint>

#include "kernels/quant_params.h"

namespace slingshot {

// Same contract and result, bit for bit, as add_s8__ref (see add_s8__ref.h): `count`
// elements of input1 and input2 (either may alias output).
void add_s8__simd(int64_t count, const AddQuantParams& q, const int8_t* input1, const int8_t* input2,
                  int8_t* output);

}  // namespace slingshot
