// Highway int8 depthwise convolution, bit-exact with depthwise_conv2d_s8__ref:
//  - Per image, the input is copied once into scratch as int16 (input + input_offset)
//    with zero padding around it and each input channel repeated `multiplier` times, so
//    output channel oc reads copy channel oc: a depth multiplier costs only the copy, and
//    a zero pad is exactly the reference's skipped tap.
//  - Per call, the filter [kh][kw][Cout] is widened to int16 rows of Cout rounded up
//    to 32, so vector loads of the last channels stay inside it.
//  - Per output pixel, up to kMaxNW int16 vectors of channels multiply over the window
//    in int16 (|w * (x + offset)| <= 128 * 255 is exact there) and widen the products
//    into int32 accumulators (whose sums wrap like the reference's), then requantize in
//    vectors (int8_common-inl.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/depthwise_conv2d_s8__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>

#include "kernels/simd/depthwise_conv2d_s8__simd.h"
#include "kernels/simd/int8_common-inl.h"

#ifndef SLINGSHOT_DEPTHWISE_CONV2D_S8_SIMD_SHARED
#define SLINGSHOT_DEPTHWISE_CONV2D_S8_SIMD_SHARED
namespace slingshot {
namespace {

struct DepthwiseS8Geometry {
  int64_t h, w, cin;          // input image
  int64_t oh, ow, cout;       // output image; cout = cin * mult
  int64_t mult;               // depth multiplier
  int64_t batch;              // images
  int64_t kh, kw, sh, sw;     // window and strides
  int64_t pad_top, pad_left;  // implicit zeros before the image
  int64_t coutw;              // Cout rounded up to 32 (widened filter rows: whole int16 vectors)
  int64_t hp, wp;             // extent of the padded copy that windows cover
};

DepthwiseS8Geometry depthwise_s8_geometry(const WindowShape& s) {
  DepthwiseS8Geometry g;
  g.h = s.input.h, g.w = s.input.w, g.cin = s.input.c;
  g.oh = s.output.h, g.ow = s.output.w, g.cout = s.output.c;
  g.mult = g.cin > 0 ? g.cout / g.cin : 0;
  g.batch = s.input.n;
  g.kh = s.kernel_h, g.kw = s.kernel_w, g.sh = s.stride_h, g.sw = s.stride_w;
  g.pad_top = s.pad_top, g.pad_left = s.pad_left;
  g.coutw = simd_s8::align_channels(g.cout, 2 * simd_s8::kChannelAlign);
  g.hp = g.oh > 0 ? (g.oh - 1) * g.sh + g.kh : 0;
  g.wp = g.ow > 0 ? (g.ow - 1) * g.sw + g.kw : 0;
  return g;
}

// int16 elements of the padded copy, plus one int16 vector of slack: the last channel
// vector of the last pixel may read past Cout (its extra lanes are never stored).
int64_t padded_int16(const DepthwiseS8Geometry& g) { return g.hp * g.wp * g.cout + 2 * simd_s8::kChannelAlign; }

}  // namespace
}  // namespace slingshot
#endif  // SLINGSHOT_DEPTHWISE_CONV2D_S8_SIMD_SHARED

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace s8 = simd_s8::HWY_NAMESPACE;

// int16 vectors of channels per pass (each feeds two int32 accumulators).
#if HWY_TARGET == HWY_SCALAR
constexpr int kMaxNW = 1;
#else
constexpr int kMaxNW = 2;
#endif

// One image's padded copy [hp][wp][Cout] of input + offset, zeros outside the image.
void PadImage(const DepthwiseS8Geometry& g, const int8_t* image, int32_t offset, int16_t* dst) {
  const int64_t x0 = std::min(g.pad_left, g.wp);
  const int64_t x1 = std::min(g.pad_left + g.w, g.wp);
  const int64_t c = g.cout;
  for (int64_t y = 0; y < g.hp; ++y) {
    int16_t* row = dst + y * g.wp * c;
    const int64_t iy = y - g.pad_top;
    if (iy < 0 || iy >= g.h || x1 <= x0) {
      std::fill(row, row + g.wp * c, int16_t{0});
      continue;
    }
    std::fill(row, row + x0 * c, int16_t{0});
    const int8_t* src = image + (iy * g.w + x0 - g.pad_left) * g.cin;
    if (g.mult == 1) {
      s8::OffsetToInt16(src, (x1 - x0) * c, offset, row + x0 * c);
    } else {
      int16_t* out = row + x0 * c;
      for (int64_t i = 0; i < (x1 - x0) * g.cin; ++i)
        for (int64_t m = 0; m < g.mult; ++m) *out++ = static_cast<int16_t>(src[i] + offset);
    }
    std::fill(row + x1 * c, row + g.wp * c, int16_t{0});
  }
}

struct DepthwiseArgs {
  const int16_t* padded;  // padded copy of the image
  const int16_t* filter;  // filter widened to int16 [kh * kw][coutw]
  const simd_s8::RequantTable* table;
  const ConvQuantParams* q;
};

// Output pixels of one image for NW int16 vectors of channels from c0 (cols valid
// channels). Products w * (x + offset) are exact in int16 (|.| <= 128 * 255), so one
// int16 multiply serves two int32 vectors of channels, widened into the accumulators.
template <int NW>
HWY_NOINLINE void DepthwiseColumns(const DepthwiseS8Geometry& g, const DepthwiseArgs& a, int64_t c0, int64_t cols,
                                   int8_t* out) {
  const hn::ScalableTag<int32_t> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
#if HWY_TARGET == HWY_SCALAR
  const hn::Rebind<int16_t, decltype(d)> d16;  // one lane: one int32 vector per int16 vector
  constexpr int kPer = 1;
#else
  const hn::Repartition<int16_t, decltype(d)> d16;
  const hn::Half<decltype(d16)> d16h;
  constexpr int kPer = 2;
#endif
  const int64_t lanes16 = static_cast<int64_t>(hn::Lanes(d16));
  const int64_t c = g.cout;
  for (int64_t oy = 0; oy < g.oh; ++oy)
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      V acc[NW * kPer];
      HWY_UNROLL(8)
      for (int v = 0; v < NW * kPer; ++v) acc[v] = hn::Zero(d);
      const int16_t* x = a.padded + (oy * g.sh * g.wp + ox * g.sw) * c + c0;
      const int16_t* w = a.filter + c0;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          HWY_UNROLL(4)
          for (int v = 0; v < NW; ++v) {
            const auto prod = hn::Mul(hn::LoadU(d16, x + kx * c + v * lanes16), hn::LoadU(d16, w + v * lanes16));
#if HWY_TARGET == HWY_SCALAR
            acc[v] = hn::Add(acc[v], hn::PromoteTo(d, prod));
#else
            acc[2 * v] = hn::Add(acc[2 * v], hn::PromoteTo(d, hn::LowerHalf(d16h, prod)));
            acc[2 * v + 1] = hn::Add(acc[2 * v + 1], hn::PromoteTo(d, hn::UpperHalf(d16h, prod)));
#endif
          }
          w += g.coutw;
        }
        x += g.wp * c;
      }
      int8_t* o = out + (oy * g.ow + ox) * c + c0;
      HWY_UNROLL(8)
      for (int v = 0; v < NW * kPer; ++v) {
        const int64_t n = std::min(lanes, cols - v * lanes);
        if (n > 0) s8::StoreInt8(d, s8::Requantize(d, acc[v], *a.table, c0 + v * lanes, *a.q), o + v * lanes, n);
      }
    }
}

void DepthwiseConv2dS8(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int8_t* filter,
                       const int32_t* bias, int8_t* output, int32_t* scratch) {
  const DepthwiseS8Geometry g = depthwise_s8_geometry(s);
  if (g.batch * g.oh * g.ow == 0 || g.cout == 0) return;
  const simd_s8::RequantTable table = simd_s8::prepare_requant(q, bias, g.cout, scratch);
  auto* wide = reinterpret_cast<int16_t*>(scratch + simd_s8::requant_table_size(g.cout));
  for (int64_t t = 0; t < g.kh * g.kw; ++t)
    for (int64_t oc = 0; oc < g.coutw; ++oc) wide[t * g.coutw + oc] = oc < g.cout ? filter[t * g.cout + oc] : 0;
  int16_t* padded = wide + g.kh * g.kw * g.coutw;
  const DepthwiseArgs a{padded, wide, &table, &q};
  const int64_t lanes16 = static_cast<int64_t>(hn::Lanes(hn::ScalableTag<int16_t>()));
  const int64_t vectors = (g.cout + lanes16 - 1) / lanes16;
  for (int64_t n = 0; n < g.batch; ++n) {
    PadImage(g, input + n * g.h * g.w * g.cin, q.input_offset, padded);
    int8_t* out = output + n * g.oh * g.ow * g.cout;
    for (int64_t v0 = 0; v0 < vectors;) {
      const int64_t nw = std::min<int64_t>(kMaxNW, vectors - v0);
      const int64_t c0 = v0 * lanes16, cols = g.cout - c0;
      if (nw >= kMaxNW) {
        DepthwiseColumns<kMaxNW>(g, a, c0, cols, out);
      } else if constexpr (kMaxNW > 1) {
        DepthwiseColumns<1>(g, a, c0, cols, out);
      }
      v0 += nw;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(DepthwiseConv2dS8);
}  // namespace

int64_t depthwise_conv2d_s8__simd_scratch_size(const WindowShape& s) {
  const DepthwiseS8Geometry g = depthwise_s8_geometry(s);
  return simd_s8::requant_table_size(g.cout) + (g.kh * g.kw * g.coutw + padded_int16(g) + 1) / 2;
}

void depthwise_conv2d_s8__simd(const WindowShape& s, const ConvQuantParams& q, const int8_t* input,
                               const int8_t* filter, const int32_t* bias, int8_t* output, int32_t* scratch) {
  HWY_DYNAMIC_DISPATCH(DepthwiseConv2dS8)(s, q, input, filter, bias, output, scratch);
}

}  // namespace slingshot
#endif  // HWY_ONCE
