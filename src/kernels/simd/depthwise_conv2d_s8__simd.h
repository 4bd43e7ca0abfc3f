// Highway int8 depthwise 2-D convolution (NHWC input, filter [1, kh, kw, Cin * multiplier]),
// bit-exact with depthwise_conv2d_s8__ref (TFLite int8 DEPTHWISE_CONV_2D arithmetic, with
// depth multiplier, both rounding modes, per-channel or per-tensor). Takes the filter as
// the reference does (no packing: each call widens it into scratch, which costs
// kh * kw * Cout, a small fraction of the convolution). Natively the call dispatches to
// the best Highway target of the CPU; in wasm it is compiled for SIMD128.
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// int32 elements of scratch one depthwise_conv2d_s8__simd call of shape `s` needs: the
// per-channel requantization table, the filter widened to int32, and one zero-padded
// int16 copy of an input image with each input channel repeated `multiplier` times
// (input + input_offset). Any alignment of int32 is fine.
int64_t depthwise_conv2d_s8__simd_scratch_size(const WindowShape& s);

// Same contract and result, bit for bit, as depthwise_conv2d_s8__ref (see
// depthwise_conv2d_s8__ref.h): multiplier = s.output.c / s.input.c. `bias` may be null.
// Requires input_offset in [-32640, 32640] (an int8 zero point always is).
void depthwise_conv2d_s8__simd(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                               const int8_t* filter, const int32_t* bias, int8_t* output, int32_t* scratch);

}  // namespace slingshot
