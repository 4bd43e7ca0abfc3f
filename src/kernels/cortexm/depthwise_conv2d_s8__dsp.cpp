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

// Four channels of one window (depth multiplier 1): `rows` rows of `taps` taps, input
// words from x_row and filter words from f_row, `stride` bytes from tap to tap (Cin ==
// Cout), the next row x_row_step / f_row_step bytes on. Adds to acc[0..3]. Kept out of
// line so that its loop gets the registers: inlined into the window loop, GCC spilled
// the accumulators on every tap.
[[gnu::noinline]] void depthwise_quad(const int8_t* x_row, int32_t x_row_step, const int8_t* f_row,
                                      int32_t f_row_step, int32_t rows, int32_t taps, int32_t stride,
                                      int32_t offset2, int32_t* acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  const int32_t row_bytes = taps * stride;
  for (; rows > 0; --rows, x_row += x_row_step, f_row += f_row_step) {
    for (int32_t i = 0; i != row_bytes; i += stride) {
      const uint32_t xv = dsp_s8::load_u32(x_row + i), fv = dsp_s8::load_u32(f_row + i);
      const int32_t x_even = __sxtab16(offset2, static_cast<int32_t>(xv));
      const int32_t x_odd = dsp_s8::sxtab16_ror8(offset2, xv);
      const int32_t f_even = __sxtb16(static_cast<int32_t>(fv)), f_odd = dsp_s8::sxtb16_ror8(fv);
      a0 = __smlabb(x_even, f_even, a0);
      a2 = __smlatt(x_even, f_even, a2);
      a1 = __smlabb(x_odd, f_odd, a1);
      a3 = __smlatt(x_odd, f_odd, a3);
    }
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

template <RoundingMode kMode>
void depthwise_windows(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output) {
  const int32_t cin = s.input.c, cout = s.output.c;
  const int32_t mult = cout / cin;
  const int32_t offset2 = dsp_s8::pair_of(q.input_offset);
  const int32_t quad_end = mult == 1 ? cin & ~3 : 0;
  const dsp_s8::Requantizer<kMode> rq(q);
  const int32_t input_offset = q.input_offset;
  const int32_t x_row_step = s.input.w * cin, f_row_step = s.kernel_w * cout;
  for_each_window(s, [&](const ClippedWindow& w) {
    int8_t* out = output + w.out_pixel * cout;
    const int32_t rows = w.ky_end - w.ky_begin, taps = w.kx_end - w.kx_begin;
    const int8_t* x_first = input + w.input_pixel(s, w.ky_begin, w.kx_begin) * cin;
    const int8_t* f_first = filter + (w.ky_begin * s.kernel_w + w.kx_begin) * cout;
    for (int32_t c = 0; c < quad_end; c += 4) {
      int32_t acc[4] = {0, 0, 0, 0};
      if (bias) acc[0] = bias[c], acc[1] = bias[c + 1], acc[2] = bias[c + 2], acc[3] = bias[c + 3];
      if (rows > 0 && taps > 0)
        depthwise_quad(x_first + c, x_row_step, f_first + c, f_row_step, rows, taps, cin, offset2, acc);
      for (int32_t i = 0; i < 4; ++i) out[c + i] = rq(acc[i], c + i);
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
