// Cortex-M DSP int8 depthwise convolution: four channels per pass (depth multiplier 1),
// halfword multiply-accumulates on SXTB16-widened channel pairs.
#include "kernels/cortexm/depthwise_conv2d_s8__dsp.h"

#include "kernels/cortexm/int8_dsp-inl.h"
#include "kernels/ref/depthwise_conv2d_s8__ref.h"
#include "kernels/ref/window_taps.h"

namespace slingshot {
namespace {

// One output channel of one window, scalar: input channel `ic`, filter/output channel `oc`.
inline int32_t window_dot_scalar(const WindowShape& s, const ClippedWindow& w, const int8_t* input,
                                 const int8_t* filter, int32_t input_offset, int32_t ic, int32_t oc, int32_t acc) {
  const int32_t cin = s.input.c, cout = s.output.c;
  for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky) {
    const int8_t* x = input + w.input_pixel(s, ky, w.kx_begin) * cin + ic;
    const int8_t* f = filter + (ky * s.kernel_w + w.kx_begin) * cout + oc;
    for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx, x += cin, f += cout) acc += *f * (*x + input_offset);
  }
  return acc;
}

template <RoundingMode kMode>
void depthwise_windows(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int32_t mult = cin > 0 ? cout / cin : 0;
  const int32_t offset2 = dsp_s8::pair_of(q.input_offset);
  const int32_t quad_end = mult == 1 ? cin & ~3 : 0;
  const dsp_s8::Requantizer<kMode> rq(q);
  const int32_t input_offset = q.input_offset;
  for_each_window(s, [&](const ClippedWindow& w) {
    int8_t* out = output + w.out_pixel * cout;
    const int32_t taps_x = w.kx_end - w.kx_begin;
    for (int32_t c = 0; c < quad_end; c += 4) {
      int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      if (bias) a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
      for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky) {
        const int8_t* x = input + w.input_pixel(s, ky, w.kx_begin) * cin + c;
        const int8_t* f = filter + (ky * s.kernel_w + w.kx_begin) * cout + c;
        for (int32_t t = taps_x; t > 0; --t, x += cin, f += cout) {
          const uint32_t xv = dsp_s8::load_u32(x), fv = dsp_s8::load_u32(f);
          const int32_t x_even = __sxtab16(offset2, static_cast<int32_t>(xv));
          const int32_t x_odd = dsp_s8::sxtab16_ror8(offset2, xv);
          const int32_t f_even = __sxtb16(static_cast<int32_t>(fv)), f_odd = dsp_s8::sxtb16_ror8(fv);
          a0 = __smlabb(x_even, f_even, a0);
          a2 = __smlatt(x_even, f_even, a2);
          a1 = __smlabb(x_odd, f_odd, a1);
          a3 = __smlatt(x_odd, f_odd, a3);
        }
      }
      out[c] = rq(a0, c);
      out[c + 1] = rq(a1, c + 1);
      out[c + 2] = rq(a2, c + 2);
      out[c + 3] = rq(a3, c + 3);
    }
    // Channels past the last quad (all of them when the multiplier is not 1).
    for (int32_t oc = quad_end; oc < cout; ++oc) {
      const int32_t acc = window_dot_scalar(s, w, input, filter, input_offset, oc / mult, oc, bias ? bias[oc] : 0);
      out[oc] = rq(acc, oc);
    }
  });
}

}  // namespace

void depthwise_conv2d_s8__dsp(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output) {
  if (!dsp_s8::offset_fits_int16(q.input_offset) || s.input.c <= 0) {
    depthwise_conv2d_s8__ref(s, q, input, filter, bias, output);
    return;
  }
  dsp_s8::with_rounding(q.rounding, [&]<RoundingMode kMode>() {
    depthwise_windows<kMode>(s, q, input, filter, bias, output);
  });
}

}  // namespace slingshot
