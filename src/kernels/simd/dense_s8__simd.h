// Highway int8 fully connected layer (weights [out_dim][in_dim], TFLite layout),
// bit-exact with dense_s8__ref (TFLite int8 FULLY_CONNECTED arithmetic, both rounding
// modes, per-channel or per-tensor). Takes the weights as the reference does (no
// packing). Natively the call dispatches to the best Highway target of the CPU; in wasm
// it is compiled for SIMD128.
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// int32 elements of scratch one dense_s8__simd call of shape `s` needs: the per-output
// requantization table, one input row as int16 (input + input_offset) and one row of
// int32 sums. Any alignment of int32 is fine.
int64_t dense_s8__simd_scratch_size(const DenseShape& s);

// Same contract and result, bit for bit, as dense_s8__ref (see dense_s8__ref.h). `bias`
// may be null. Requires input_offset in [-32640, 32640] (an int8 zero point always is).
void dense_s8__simd(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                    const int32_t* bias, int8_t* output, int32_t* scratch);

}  // namespace slingshot
