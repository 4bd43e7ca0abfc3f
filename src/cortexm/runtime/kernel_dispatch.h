// The one place where the device runtime picks the kernel variant for conv, depthwise
// conv and dense: the Cortex-M DSP variants (src/kernels/cortexm/*__dsp.*) on cores with
// the DSP extension (__ARM_FEATURE_DSP: M4, M7, M33, M55), the int8 reference kernels
// elsewhere (M3, and the host and wasm builds that run the runtime in tests). Every
// variant is bit-exact with the reference, so the choice only changes speed.
//
// `scratch` is the model's scratch region (model_format.h: 4-byte aligned, at least the
// layer's conv2d_s8__dsp_scratch_size / dense_s8__dsp_scratch_size bytes, sharing no
// bytes with the layer's input or output). The reference kernels do not use it.
#pragma once

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP)
#include "kernels/cortexm/conv2d_s8__dsp.h"
#include "kernels/cortexm/dense_s8__dsp.h"
#include "kernels/cortexm/depthwise_conv2d_s8__dsp.h"
#else
#include "kernels/ref/conv2d_s8__ref.h"
#include "kernels/ref/dense_s8__ref.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#endif

namespace slingshot::mcu {

inline void conv2d_s8(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int8_t* output, int32_t* scratch) {
#if defined(__ARM_FEATURE_DSP)
  conv2d_s8__dsp(s, q, input, filter, bias, output, scratch);
#else
  (void)scratch;
  conv2d_s8__ref(s, q, input, filter, bias, output);
#endif
}

inline void depthwise_conv2d_s8(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                                const int8_t* filter, const int32_t* bias, int8_t* output) {
#if defined(__ARM_FEATURE_DSP)
  depthwise_conv2d_s8__dsp(s, q, input, filter, bias, output);
#else
  depthwise_conv2d_s8__ref(s, q, input, filter, bias, output);
#endif
}

inline void dense_s8(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                     const int32_t* bias, int8_t* output, int32_t* scratch) {
#if defined(__ARM_FEATURE_DSP)
  dense_s8__dsp(s, q, input, weights, bias, output, scratch);
#else
  (void)scratch;
  dense_s8__ref(s, q, input, weights, bias, output);
#endif
}

}  // namespace slingshot::mcu
