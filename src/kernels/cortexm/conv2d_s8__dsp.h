// Cortex-M DSP-extension int8 2-D convolution (NHWC input, OHWI filter), bit-exact with
// conv2d_s8__ref (TFLite int8 CONV_2D arithmetic, both rounding modes, per-channel or
// per-tensor). Built only where __ARM_FEATURE_DSP is defined (M4, M7, M33, M55).
//
// Implicit GEMM: two output pixels at a time are unrolled (im2col) into int16
// input + input_offset in caller-provided scratch, then every pair of output channels is
// multiplied with both columns by SMLAD (a 2x2 register block), the OHWI filter rows read
// in place as int8 words and widened by SXTB16. The filter needs no packing.
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// Bytes of scratch one conv2d_s8__dsp call of shape `s` needs: the int32 accumulators of
// two output pixels, two int16 columns of K = kernel_h * kernel_w * input.c elements and,
// when input.c is not a multiple of 4, K staging bytes. Layers may share one buffer (take
// the maximum). The filter, bias and quantization arrays are read in place. The formula
// is conv2d_s8__dsp_scratch_size() in dsp_scratch.h (portable, for planners).
int32_t conv2d_s8__dsp_scratch_bytes(const WindowShape& s);

// Same contract and result, bit for bit, as conv2d_s8__ref (see conv2d_s8__ref.h).
// `scratch` is 4-byte aligned and holds conv2d_s8__dsp_scratch_bytes(s) bytes. Reads
// filter rows with unaligned word loads (the Cortex-M default; UNALIGN_TRP must be 0).
// Input offsets outside [-32640, 32639] (no int8 zero point gives one) run the reference
// kernel.
void conv2d_s8__dsp(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                    const int32_t* bias, int8_t* output, int32_t* scratch);

}  // namespace slingshot
