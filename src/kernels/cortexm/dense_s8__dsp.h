// Cortex-M DSP-extension int8 fully connected layer, bit-exact with dense_s8__ref (TFLite
// int8 FULLY_CONNECTED arithmetic, both rounding modes, per-channel or per-tensor).
// Built only where __ARM_FEATURE_DSP is defined (M4, M7, M33, M55).
//
// Two input rows at a time are widened to int16 input + input_offset in caller-provided
// scratch; each pair of weight rows ([out_dim, in_dim] int8, read in place) is multiplied
// with both by SMLAD, the same 2x2 block as conv2d_s8__dsp.
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// Bytes of scratch one dense_s8__dsp call of shape `s` needs: the int32 accumulators of
// two rows (2 x out_dim) and two widened int16 input rows of in_dim
// (dense_s8__dsp_scratch_size() in dsp_scratch.h, portable, for planners).
int32_t dense_s8__dsp_scratch_bytes(const DenseShape& s);

// Same contract and result, bit for bit, as dense_s8__ref (see dense_s8__ref.h).
// `scratch` is 4-byte aligned and holds dense_s8__dsp_scratch_bytes(s) bytes. Reads
// weight rows with unaligned word loads (the Cortex-M default; UNALIGN_TRP must be 0).
// Input offsets outside [-32640, 32639] (no int8 zero point gives one) run the reference
// kernel.
void dense_s8__dsp(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                   const int32_t* bias, int8_t* output, int32_t* scratch);

}  // namespace slingshot
