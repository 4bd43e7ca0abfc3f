// Highway int8 2-D convolution, bit-exact with conv2d_s8__ref, as an implicit GEMM on
// int16 pairs:
//  - Per image, the input is copied once into scratch as int16 (input + input_offset,
//    which fits int16) with zero padding around it, two channels per int32 element
//    (Cin rounded up to even). A zero pad is exactly the reference's skipped tap, and
//    with the offset already added the inner loop needs no correction term.
//  - The filter is packed at load time into rows of int16 pairs, one row per pair of
//    reduction indices (ky, kx, c..c+1) and Cout (rounded up to 16) int32 columns.
//  - A register tile of MR output pixels x NV vectors of output channels accumulates
//    int32: per pair row it loads NV filter vectors and broadcasts one int32 (two int16
//    input values) per pixel, then multiplies pairwise and adds (pmaddwd / WASM
//    i32x4.dot_i16x8_s). Each pixel's window is kh runs of kw * Cin/2 contiguous pairs
//    in the padded copy, walked with one pointer per pixel.
//  - With AVX512-VNNI the same tile runs on bytes, four channels per int32: the copy
//    holds x + 128 as uint8 (pads: 128 - offset), the filter is also packed as int8
//    quads, and vpdpbusd does 64 multiply-adds per instruction; the constant
//    (offset - 128) * sum(w) goes into the bias (filter sums stored at pack time).
//  - Products and pair sums are exact (|w * (x + offset)| <= 128 * 255), and int32
//    accumulation wraps like the reference's, so the order of the sum does not matter.
//  - Requantization is vectorized (int8_common-inl.h) with per-channel tables prepared
//    once per call in scratch.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_s8__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>

#include "kernels/simd/conv2d_s8__simd.h"
#include "kernels/simd/int8_common-inl.h"

// Target-independent helpers, compiled once although foreach_target re-includes this file.
#ifndef SLINGSHOT_CONV2D_S8_SIMD_SHARED
#define SLINGSHOT_CONV2D_S8_SIMD_SHARED
namespace slingshot {
namespace {

struct ConvS8Geometry {
  int64_t h, w, cin;           // input image
  int64_t oh, ow, cout;        // output image
  int64_t batch;               // images
  int64_t kh, kw, sh, sw;      // window, and window strides in the padded copy
  int64_t step_h, step_w;      // the copy takes every step-th input row/column (1x1 stride-s: s)
  int64_t pad_top, pad_left;   // implicit zeros before the image
  int64_t cq;                  // int16 pairs per pixel: ceil(Cin / 2)
  int64_t run;                 // pairs per window row: kw * cq
  int64_t pairs;               // pairs per window: kh * run (rows of the packed filter)
  int64_t coutp;               // Cout rounded up to 16 (columns of the packed filter)
  int64_t hp, wp;              // extent of the padded copy that windows cover
  // The AVX512-VNNI byte path (x86 builds): four channels per int32 instead of two.
  int64_t cq4;                 // uint8 quads per pixel: ceil(Cin / 4)
  int64_t run4;                // quads per window row: kw * cq4
  int64_t quads;               // quads per window: kh * run4 (rows of the packed quad filter)
};

// x86 builds also pack the filter as int8 quads for vpdpbusd (see Conv2dS8Impl).
#if defined(__x86_64__) || defined(__i386__)
constexpr bool kPackQuads = true;
#else
constexpr bool kPackQuads = false;
#endif

ConvS8Geometry conv_s8_geometry(const WindowShape& s) {
  ConvS8Geometry g;
  g.h = s.input.h, g.w = s.input.w, g.cin = s.input.c;
  g.oh = s.output.h, g.ow = s.output.w, g.cout = s.output.c;
  g.batch = s.input.n;
  g.kh = s.kernel_h, g.kw = s.kernel_w, g.sh = s.stride_h, g.sw = s.stride_w;
  g.pad_top = s.pad_top, g.pad_left = s.pad_left;
  g.step_h = g.step_w = 1;
  if (g.kh == 1 && g.kw == 1 && (g.sh > 1 || g.sw > 1)) {
    // A strided 1x1 conv reads only every stride-th pixel (and never padding): the copy
    // holds just those, and windows step through it one pixel at a time.
    g.step_h = g.sh, g.step_w = g.sw;
    g.sh = g.sw = 1;
    g.pad_top = g.pad_left = 0;
  }
  g.cq = (g.cin + 1) / 2;
  g.run = g.kw * g.cq;
  g.pairs = g.kh * g.run;
  g.coutp = simd_s8::align_channels(g.cout);
  g.hp = g.oh > 0 ? (g.oh - 1) * g.sh + g.kh : 0;
  g.wp = g.ow > 0 ? (g.ow - 1) * g.sw + g.kw : 0;
  g.cq4 = (g.cin + 3) / 4;
  g.run4 = g.kw * g.cq4;
  g.quads = g.kh * g.run4;
  return g;
}

// Where the quad section and the filter sums start in the packed filter (int32 offsets).
int64_t packed_quads_offset(const ConvS8Geometry& g) { return g.pairs * g.coutp; }
int64_t packed_sums_offset(const ConvS8Geometry& g) { return (g.pairs + g.quads) * g.coutp; }

// Two int16 values in one int32, `lo` in the low half (the lane order of every target).
inline int32_t int16_pair(int32_t lo, int32_t hi) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                              (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
}

}  // namespace
}  // namespace slingshot
#endif  // SLINGSHOT_CONV2D_S8_SIMD_SHARED

// ---------------------------------------------------------------------------------------
HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace s8 = simd_s8::HWY_NAMESPACE;

// Tile shapes: MR pixels x NV vectors, MR * NV accumulators plus NV filter vectors, a
// broadcast and (without VNNI) the product must fit the register file; the MR pixel
// pointers must fit the general registers.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kMaxNV = 4;
constexpr int MaxRows(int nv) { return nv == 1 ? 12 : nv == 2 ? 10 : nv == 3 ? 7 : 6; }
#elif HWY_TARGET == HWY_SCALAR
constexpr int kMaxNV = 1;
constexpr int MaxRows(int) { return 1; }
#else
constexpr int kMaxNV = 2;
constexpr int MaxRows(int nv) { return nv == 1 ? 8 : 5; }
#endif

// How a tile multiplies and accumulates.
enum MaddOp : int {
  kPairs = 0,      // int16 pairs of input + offset and of weights (every target)
  kQuadsVnni = 1,  // uint8 quads of input + 128 and int8 quads of weights (AVX512-VNNI)
};

template <int kOp, class D>
HWY_INLINE hn::Vec<D> Madd(D d, hn::Vec<D> acc, hn::Vec<D> x, hn::Vec<D> w) {
#if HWY_ARCH_X86 && HWY_TARGET == HWY_AVX3
  if constexpr (kOp == kQuadsVnni) return s8::MulQuadsAddVnni(d, acc, x, w);
#endif
  return s8::MulPairsAdd(d, acc, x, w);
}

// dst[0, n) pixels of pairs = src[0, n) pixels of Cin int8 values, plus `offset`.
void ConvertPixels(const int8_t* src, int64_t n, int64_t cin, int32_t offset, int32_t* dst) {
  if (cin % 2 == 0) {  // consecutive pixels are one contiguous run of int16 pairs
    s8::OffsetToInt16(src, n * cin, offset, reinterpret_cast<int16_t*>(dst));
    return;
  }
  const int64_t cq = (cin + 1) / 2;
  for (int64_t p = 0; p < n; ++p) {
    const int8_t* x = src + p * cin;
    int32_t* out = dst + p * cq;
    for (int64_t c = 0; c + 1 < cin; c += 2) out[c / 2] = int16_pair(x[c] + offset, x[c + 1] + offset);
    out[cq - 1] = int16_pair(x[cin - 1] + offset, 0);  // the pad channel pairs with weight 0
  }
}

// One image's padded copy [hp][wp][cq] with zeros outside the image; source rows and
// columns past the padded extent (never read by a window) are dropped.
void PadImage(const ConvS8Geometry& g, const int8_t* image, int32_t offset, int32_t* dst) {
  if (g.step_h > 1 || g.step_w > 1) {  // strided 1x1: every window's pixel, no padding
    for (int64_t y = 0; y < g.hp; ++y)
      for (int64_t x = 0; x < g.wp; ++x)
        ConvertPixels(image + (y * g.step_h * g.w + x * g.step_w) * g.cin, 1, g.cin, offset,
                      dst + (y * g.wp + x) * g.cq);
    return;
  }
  const int64_t x0 = std::min(g.pad_left, g.wp);
  const int64_t x1 = std::min(g.pad_left + g.w, g.wp);
  for (int64_t y = 0; y < g.hp; ++y) {
    int32_t* row = dst + y * g.wp * g.cq;
    const int64_t iy = y - g.pad_top;
    if (iy < 0 || iy >= g.h || x1 <= x0) {
      std::fill(row, row + g.wp * g.cq, 0);
      continue;
    }
    std::fill(row, row + x0 * g.cq, 0);
    ConvertPixels(image + (iy * g.w + x0 - g.pad_left) * g.cin, x1 - x0, g.cin, offset, row + x0 * g.cq);
    std::fill(row + x1 * g.cq, row + g.wp * g.cq, 0);
  }
}

// dst[0, n) = src[0, n) ^ 0x80, i.e. int8 x as the byte x + 128: whole vectors, then
// halved vectors down to one lane.
template <size_t kLanes = HWY_LANES(uint8_t)>
HWY_INLINE void FlipSignBits(const int8_t* src, int64_t n, uint8_t* dst) {
  const hn::CappedTag<uint8_t, kLanes> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto flip = hn::Set(d, uint8_t{0x80});
  const auto* in = reinterpret_cast<const uint8_t*>(src);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Xor(hn::LoadU(d, in + i), flip), d, dst + i);
  if constexpr (kLanes > 1) {
    if (i < n) FlipSignBits<kLanes / 2>(src + i, n - i, dst + i);
  }
}

// The byte path's copy of one image: [hp][wp][4 * cq4] bytes of input + 128, with
// 128 - offset (the zero point) outside the image and 0 in the channels past Cin.
void PadImageU8(const ConvS8Geometry& g, const int8_t* image, int32_t offset, int32_t* dst) {
  const int64_t px = 4 * g.cq4;  // bytes per pixel of the copy
  const auto pad = static_cast<uint8_t>(128 - offset);
  auto* out = reinterpret_cast<uint8_t*>(dst);  // bytes may alias the int32 scratch
  for (int64_t y = 0; y < g.hp; ++y) {
    const int64_t iy = y * g.step_h - g.pad_top;
    for (int64_t x = 0; x < g.wp; ++x) {
      uint8_t* o = out + (y * g.wp + x) * px;
      const int64_t ix = x * g.step_w - g.pad_left;
      if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
        std::fill(o, o + px, pad);
        continue;
      }
      if (px == g.cin && g.step_w == 1) {  // the rest of the row's pixels are one contiguous run
        const int64_t n = std::min(g.wp - x, g.w - ix);
        FlipSignBits(image + (iy * g.w + ix) * g.cin, n * px, o);
        x += n - 1;
        continue;
      }
      const int8_t* src = image + (iy * g.w + ix) * g.cin;
      if (g.cin >= 16) {
        FlipSignBits(src, g.cin, o);
      } else {  // a few channels (an RGB input): cheaper than the vector ladder
        for (int64_t c = 0; c < g.cin; ++c) o[c] = static_cast<uint8_t>(static_cast<uint8_t>(src[c]) ^ 0x80u);
      }
      std::fill(o + g.cin, o + px, uint8_t{0});
    }
  }
}

struct ConvTileArgs {
  const int32_t* filter;            // packed filter at the tile's first column
  int64_t coutp;                    // int32 per packed row
  int64_t kh, run;                  // window rows, pairs per window row
  int64_t row_stride;               // pairs between rows of the padded copy
  const simd_s8::RequantTable* table;
  const ConvQuantParams* q;
  int64_t c0;                       // first output channel of the tile
  int64_t cols;                     // valid output channels from c0 (may end inside a vector)
  int64_t cout;                     // output pixel stride
};

// MR pixels (windows at rows[0..MR), of which the first `nrows` are stored) x NV vectors
// of output channels from a.c0; out points at the first pixel's channel c0.
template <int MR, int NV, int kOp>
HWY_NOINLINE void ConvTile(const ConvTileArgs& a, const int32_t* const* rows, int nrows, int8_t* out) {
  const hn::ScalableTag<int32_t> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  // Accumulators start at zero and the bias is added with the requantization, so the
  // tile stays in registers (see gemm_f32__simd.cpp).
  V acc[MR][NV];
  HWY_UNROLL(16)
  for (int r = 0; r < MR; ++r) {
    HWY_UNROLL(16)
    for (int v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  }
  const int32_t* x[MR];
  HWY_UNROLL(16)
  for (int r = 0; r < MR; ++r) x[r] = rows[r];
  const int32_t* w = a.filter;
  // intptr_t: 32-bit in wasm32, where int64_t loop counters cost extra instructions.
  const auto run = static_cast<intptr_t>(a.run), coutp = static_cast<intptr_t>(a.coutp);
  const auto row_stride = static_cast<intptr_t>(a.row_stride);
  for (int64_t ky = 0; ky < a.kh; ++ky) {
    for (intptr_t p = 0; p < run; ++p) {
      V wv[NV];
      HWY_UNROLL(16)
      for (int v = 0; v < NV; ++v) wv[v] = hn::LoadU(d, w + v * lanes);
      HWY_UNROLL(16)
      for (int r = 0; r < MR; ++r) {
        const V xb = hn::Set(d, x[r][p]);
        HWY_UNROLL(16)
        for (int v = 0; v < NV; ++v) acc[r][v] = Madd<kOp>(d, acc[r][v], xb, wv[v]);
      }
      w += coutp;
    }
    HWY_UNROLL(16)
    for (int r = 0; r < MR; ++r) x[r] += row_stride;
  }
  // Constant indices only (every loop unrolled), or the compiler keeps the tile in memory
  // and stores it on every step of the loop above (clang did, for wasm).
  HWY_UNROLL(16)
  for (int r = 0; r < MR; ++r) {
    if (r >= nrows) break;
    HWY_UNROLL(16)
    for (int v = 0; v < NV; ++v) {
      const int64_t n = std::min(lanes, a.cols - v * lanes);
      if (n > 0) {
        s8::StoreInt8(d, s8::Requantize(d, acc[r][v], *a.table, a.c0 + v * lanes, *a.q), out + r * a.cout + v * lanes,
                      n);
      }
    }
  }
}

// All pixels of one image for the NV vectors of channels at a.c0: tiles of MR
// consecutive output pixels; a last partial tile repeats its last window (not stored).
template <int NV, int kOp>
void ConvColumns(const ConvS8Geometry& g, const ConvTileArgs& a, const int32_t* padded, int8_t* out) {
  constexpr int MR = MaxRows(NV);
  const int64_t npix = g.oh * g.ow;
  const int64_t elements = kOp == kQuadsVnni ? g.cq4 : g.cq;  // int32 per pixel of the copy
  int64_t oy = 0, ox = 0;
  for (int64_t p0 = 0; p0 < npix; p0 += MR) {
    const int nrows = static_cast<int>(std::min<int64_t>(MR, npix - p0));
    const int32_t* rows[MR];
    for (int r = 0; r < MR; ++r) {
      if (r >= nrows) {
        rows[r] = rows[nrows - 1];
        continue;
      }
      rows[r] = padded + (oy * g.sh * g.wp + ox * g.sw) * elements;
      if (++ox == g.ow) ox = 0, ++oy;
    }
    ConvTile<MR, NV, kOp>(a, rows, nrows, out + p0 * g.cout);
  }
}

template <int kOp>
void Conv2dS8Impl(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int32_t* packed,
                  const int32_t* bias, int8_t* output, int32_t* scratch) {
  const ConvS8Geometry g = conv_s8_geometry(s);
  if (g.batch * g.oh * g.ow == 0 || g.cout == 0) return;
  const bool quads = kOp == kQuadsVnni;
  if (quads) {
    // sum w * (x + offset) = sum w * (x + 128) + (offset - 128) * sum w: the byte path
    // multiplies x + 128 (pads hold 128 - offset, i.e. x == zero point) and folds the
    // rest into the bias, with the filter sums stored at pack time. int32 wraps alike.
    int32_t* adjusted = scratch + simd_s8::requant_table_size(g.cout);
    const int32_t* sums = packed + packed_sums_offset(g);
    for (int64_t oc = 0; oc < g.cout; ++oc)
      adjusted[oc] = static_cast<int32_t>(static_cast<uint32_t>(bias ? bias[oc] : 0) +
                                          static_cast<uint32_t>(q.input_offset - 128) * static_cast<uint32_t>(sums[oc]));
    bias = adjusted;
  }
  const simd_s8::RequantTable table = simd_s8::prepare_requant(q, bias, g.cout, scratch);
  int32_t* padded = scratch + simd_s8::requant_table_size(g.cout) + g.coutp;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(hn::ScalableTag<int32_t>()));
  const int64_t vectors = (g.cout + lanes - 1) / lanes;
  ConvTileArgs a{};
  a.coutp = g.coutp;
  a.kh = g.kh, a.run = quads ? g.run4 : g.run;
  a.row_stride = g.wp * (quads ? g.cq4 : g.cq);
  a.table = &table;
  a.q = &q;
  a.cout = g.cout;
  const int32_t* filter = packed + (quads ? packed_quads_offset(g) : 0);
  for (int64_t n = 0; n < g.batch; ++n) {
    const int8_t* image = input + n * g.h * g.w * g.cin;
    if (quads) {
      PadImageU8(g, image, q.input_offset, padded);
    } else {
      PadImage(g, image, q.input_offset, padded);
    }
    int8_t* out = output + n * g.oh * g.ow * g.cout;
    for (int64_t v0 = 0; v0 < vectors;) {
      const int64_t nv = std::min<int64_t>(kMaxNV, vectors - v0);
      a.c0 = v0 * lanes;
      a.cols = g.cout - a.c0;
      a.filter = filter + a.c0;
      if (nv >= kMaxNV) {
        ConvColumns<kMaxNV, kOp>(g, a, padded, out + a.c0);
      } else if constexpr (kMaxNV > 1) {
        if (nv == 1) ConvColumns<1, kOp>(g, a, padded, out + a.c0);
        if constexpr (kMaxNV > 2) {
          if (nv == 2) ConvColumns<2, kOp>(g, a, padded, out + a.c0);
          if constexpr (kMaxNV > 3) {
            if (nv == 3) ConvColumns<3, kOp>(g, a, padded, out + a.c0);
          }
        }
      }
      v0 += nv;
    }
  }
}

// The byte path needs AVX512-VNNI, the quads in the packed filter, and a pad value
// 128 - input_offset that fits a byte (any int8 zero point does).
bool UseQuads(const ConvQuantParams& q) {
  return s8::kVnniTarget && kPackQuads && int8_simd_vnni_active() && q.input_offset >= -127 && q.input_offset <= 128;
}

void Conv2dS8(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int32_t* packed,
              const int32_t* bias, int8_t* output, int32_t* scratch) {
  if constexpr (s8::kVnniTarget) {
    if (UseQuads(q)) return Conv2dS8Impl<kQuadsVnni>(s, q, input, packed, bias, output, scratch);
  }
  Conv2dS8Impl<kPairs>(s, q, input, packed, bias, output, scratch);
}

// Which target dynamic dispatch picked, and whether it uses VNNI (for benchmarks).
const char* Conv2dS8Target() {
  if (s8::kVnniTarget && kPackQuads && int8_simd_vnni_active()) return "AVX3+VNNI";
  return hwy::TargetName(HWY_TARGET);
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(Conv2dS8);
HWY_EXPORT(Conv2dS8Target);
}  // namespace

const char* conv2d_s8__simd_target_name() { return HWY_DYNAMIC_DISPATCH(Conv2dS8Target)(); }

int64_t conv2d_s8__simd_packed_size(const WindowShape& s) {
  const ConvS8Geometry g = conv_s8_geometry(s);
  return kPackQuads ? packed_sums_offset(g) + g.coutp : g.pairs * g.coutp;
}

void conv2d_s8__simd_pack_filter(const WindowShape& s, const int8_t* filter, int32_t* packed) {
  const ConvS8Geometry g = conv_s8_geometry(s);
  const int64_t k = g.kh * g.kw * g.cin;  // OHWI row length
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx)
      for (int64_t c2 = 0; c2 < g.cq; ++c2) {
        int32_t* row = packed + ((ky * g.kw + kx) * g.cq + c2) * g.coutp;
        const int64_t c = 2 * c2;
        for (int64_t oc = 0; oc < g.coutp; ++oc) {
          if (oc >= g.cout) {
            row[oc] = 0;
            continue;
          }
          const int8_t* f = filter + oc * k + (ky * g.kw + kx) * g.cin + c;
          row[oc] = int16_pair(f[0], c + 1 < g.cin ? f[1] : 0);
        }
      }
  if (!kPackQuads) return;
  // Quads: element [(ky*kw + kx)*cq4 + c/4][oc] holds filter values c..c+3 as bytes (low
  // byte first), then the sum of each output channel's filter values.
  int32_t* quads = packed + packed_quads_offset(g);
  int32_t* sums = packed + packed_sums_offset(g);
  for (int64_t oc = 0; oc < g.coutp; ++oc) {
    int32_t sum = 0;
    for (int64_t t = 0; t < g.kh * g.kw; ++t)
      for (int64_t c4 = 0; c4 < g.cq4; ++c4) {
        uint32_t bytes = 0;
        for (int64_t j = 0; j < 4; ++j) {
          const int64_t c = 4 * c4 + j;
          const int8_t v = oc < g.cout && c < g.cin ? filter[oc * k + t * g.cin + c] : int8_t{0};
          bytes |= static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * j);
          sum += v;
        }
        quads[(t * g.cq4 + c4) * g.coutp + oc] = static_cast<int32_t>(bytes);
      }
    sums[oc] = sum;
  }
}

int64_t conv2d_s8__simd_scratch_size(const WindowShape& s) {
  const ConvS8Geometry g = conv_s8_geometry(s);
  return simd_s8::requant_table_size(g.cout) + g.coutp + g.hp * g.wp * std::max(g.cq, kPackQuads ? g.cq4 : 0);
}

void conv2d_s8__simd(const WindowShape& s, const ConvQuantParams& q, const int8_t* input, const int32_t* packed_filter,
                     const int32_t* bias, int8_t* output, int32_t* scratch) {
  HWY_DYNAMIC_DISPATCH(Conv2dS8)(s, q, input, packed_filter, bias, output, scratch);
}

}  // namespace slingshot
#endif  // HWY_ONCE
