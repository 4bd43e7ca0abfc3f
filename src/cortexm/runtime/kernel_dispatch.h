// The one place where the device runtime picks the kernel variant for conv, depthwise
// conv and dense. For now every target uses the int8 reference kernels; the Cortex-M DSP
// variants (src/kernels/cortexm/*__dsp.*) will be selected here on __ARM_FEATURE_DSP.
// They take a scratch buffer besides the reference arguments, so switching also needs a
// scratch region in the model format (planned by the exporter with the arena). Every
// variant is bit-exact with the reference, so the choice only changes speed.
#pragma once

#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"

namespace slingshot::mcu {

inline void conv2d_s8(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output) {
  conv2d_s8__ref(s, q, input, filter, bias, output);
}

inline void depthwise_conv2d_s8(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                                const int8_t* filter, const int32_t* bias, int8_t* output) {
  depthwise_conv2d_s8__ref(s, q, input, filter, bias, output);
}

inline void dense_s8(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                     const int32_t* bias, int8_t* output) {
  dense_s8__ref(s, q, input, weights, bias, output);
}

}  // namespace slingshot::mcu
