// Highway int8 2-D convolution (NHWC input, OHWI filter), bit-exact with conv2d_s8__ref
// (TFLite int8 CONV_2D arithmetic, both rounding modes, per-channel or per-tensor).
// The filter is packed once (at model load) into int16 pairs (and int8 quads in x86
// builds); each call takes the packed filter and a caller-provided scratch buffer
// (kernels never allocate). Natively the call dispatches to the best Highway target of
// the CPU (AVX-512 with VNNI, AVX-512, AVX2, SSE4); in wasm it is compiled for SIMD128.
//
// Engine use, per conv layer:
//   at load:  std::vector<int32_t> packed(conv2d_s8__simd_packed_size(s));
//             conv2d_s8__simd_pack_filter(s, filter, packed.data());
//   per run:  int32_t scratch[conv2d_s8__simd_scratch_size(s)] (may be shared by layers:
//             take the maximum), then conv2d_s8__simd(s, q, input, packed, bias, output, scratch).
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// int32 elements of the packed filter of shape `s` (only kernel_h, kernel_w, input.c and
// output.c matter): kh * kw * ceil(Cin/2) rows of int16 pairs, and in x86 builds also
// kh * kw * ceil(Cin/4) rows of int8 quads (for AVX512-VNNI), each row Cout rounded up
// to 16 int32, plus one such row of per-channel filter sums.
int64_t conv2d_s8__simd_packed_size(const WindowShape& s);

// Packs the OHWI int8 filter [Cout][kh][kw][Cin] for conv2d_s8__simd: pair element
// [(ky*kw + kx)*ceil(Cin/2) + c/2][oc] holds filter values c and c+1 of output channel oc
// as two int16 (low half: even c); quad element [(ky*kw + kx)*ceil(Cin/4) + c/4][oc]
// holds values c..c+3 as bytes; zeros past Cin and Cout. Independent of quantization
// parameters and of the CPU, so one packed filter serves every call and target of a build.
void conv2d_s8__simd_pack_filter(const WindowShape& s, const int8_t* filter, int32_t* packed);

// int32 elements of scratch one conv2d_s8__simd call of shape `s` needs: the per-channel
// requantization table plus one zero-padded copy of an input image (int16 input +
// input_offset, two channels per element; or, on the VNNI path, bytes input + 128, four
// per element). Any alignment of int32 is fine.
int64_t conv2d_s8__simd_scratch_size(const WindowShape& s);

// Same contract and result, bit for bit, as conv2d_s8__ref (see conv2d_s8__ref.h), with
// the filter packed by conv2d_s8__simd_pack_filter. `bias` may be null. Requires
// input_offset in [-32640, 32640] (an int8 zero point always is): input + offset must fit
// int16. Padded taps contribute 0, as in the reference.
void conv2d_s8__simd(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int32_t* packed_filter,
                     const int32_t* bias, int8_t* output, int32_t* scratch);

// Name of the Highway target the call dispatches to on this CPU ("AVX3+VNNI" = AVX-512
// with VNNI, "AVX3", "AVX2", "SSE4"; "WASM" in wasm), for benchmark reports.
const char* conv2d_s8__simd_target_name();

}  // namespace slingshot
