// Cortex-M DSP-extension int8 depthwise 2-D convolution, bit-exact with
// depthwise_conv2d_s8__ref (TFLite int8 DEPTHWISE_CONV_2D arithmetic, both rounding modes,
// per-channel or per-tensor). Built only where __ARM_FEATURE_DSP is defined.
//
// With depth multiplier 1 (the common case) four channels run at once: one word of input
// and one of filter per tap, widened by SXTAB16/SXTB16 into channel pairs (0, 2) and
// (1, 3), and the four products accumulated by the halfword multiplies SMLABB/SMLATT.
// Other channel counts' last channels and other multipliers use scalar loops.
#pragma once

#include <cstdint>

#include "kernels/kernel_params.h"
#include "kernels/quant_params.h"

namespace slingshot {

// Same contract and result, bit for bit, as depthwise_conv2d_s8__ref (see
// depthwise_conv2d_s8__ref.h). Needs no scratch. Reads input and filter with unaligned
// word loads (the Cortex-M default; UNALIGN_TRP must be 0). Input offsets outside
// [-32640, 32639] (no int8 zero point gives one) run the reference kernel.
void depthwise_conv2d_s8__dsp(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output);

}  // namespace slingshot
