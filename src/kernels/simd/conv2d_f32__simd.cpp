// Highway float32 2-D convolution (NHWC input, OHWI filter) lowered onto the GEMM of
// gemm_f32__simd as an implicit GEMM: no im2col matrix is built. Per image, the input
// is copied once into a zero-padded buffer (only if some window leaves the image), and
// the GEMM reads each output pixel's window straight from it: a window is kh runs of
// kw*Cin contiguous floats, which the GEMM walks as K segments of one row pointer. With
// K = kh*kw*Cin in the filter's OHWI order:
//   forward           out[pixels][Cout] = window rows x filter^T[K][Cout] (+ bias)
//   backward-filter   dfilter[Cout][ky-th kw*Cin block] += grad_out^T x window runs at ky
//                     (one GEMM per kernel row, B rows read in place), or for narrow runs
//                     the transposed product into [K][Cout] scratch; bias = column sums
//   backward-input    stride 1, Cin >= 8: a forward conv of the padded grad_out with the
//                     filter rotated by 180 degrees and transposed to [kh][kw][Cout] x Cin;
//                     stride 1, Cin <= 4 (RGB, one MFCC channel): the same conv computed
//                     along image rows, grad_out transposed into zero-padded channel planes
//                     and the few input channels kept as separate accumulators;
//                     otherwise dcol = grad_out x filter[Cout][K] in chunks, then col2im.
// A 1x1 stride-1 conv is a plain GEMM on the whole batch.
//
// Threads (core/thread_pool.h): above kMinParallelMacs, forward and backward-input run
// one task per image (or per range of images) and the GEMMs of a 1x1 conv run in row
// blocks; backward-filter, which sums over images, is split by rows of its GEMMs (output
// channels, or filter taps in the transposed form), each task walking all images. Every
// output element is thus computed by one task, in the same order as on one thread (see
// gemm_rows), so results are bit-identical for any thread count. Per-image buffers
// (padded image, row table, dcol chunk) exist once per worker: kMaxThreads slots.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_f32__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/simd/conv2d_f32__simd.h"
#include "kernels/simd/gemm_f32__simd.h"
#include "kernels/simd/scratch_carver.h"

// Target-independent helpers, compiled once although foreach_target re-includes this file.
#ifndef SLINGSHOT_CONV2D_F32_SIMD_SHARED
#define SLINGSHOT_CONV2D_F32_SIMD_SHARED
namespace slingshot {
namespace {

using simd_internal::GemmArgs;
using simd_internal::Carver;
using simd_internal::GemmInit;

// Col floats per chunk of the col2im backward-input pass: 128 KB, so dcol stays in L2
// between the GEMM writing it and col2im reading it, whatever the batch.
constexpr int64_t kChunkFloats = int64_t{1} << 15;
// Chunks are a multiple of every GEMM tile height (10, 8, 6, 4), so only the last
// chunk of a pass has a partial row tile.
constexpr int64_t kChunkAlign = 120;
// Planar backward-input: input channels held as accumulators, and rows computed in
// steps of two vectors of up to 16 lanes.
constexpr int64_t kPlanarMaxChannels = 4;
constexpr int64_t kPlanarRowAlign = 32;

struct ConvGeometry {
  int64_t h, w, cin;      // input image
  int64_t oh, ow, cout;   // output image
  int64_t batch;          // images
  int64_t k;              // kh * kw * Cin
  bool direct;            // 1x1, stride 1, no padding: a plain GEMM over the batch
  bool unit_stride;       // stride 1 in both directions
  bool transposed_bwd;    // backward-input as a stride-1 conv of grad_out (else GEMM + col2im)
  bool planar_bwd;        // backward-input along rows over grad_out planes (stride 1, Cin <= 4)
  bool transposed_dw;     // backward-filter computes dfilter^T [K][Cout] (narrow kw*Cin runs)
  int64_t hp, wp;         // extent of the padded input that windows cover
  bool pad_input;         // some window leaves the image: windows read a padded copy
  int64_t hq, wq;         // padded grad_out image of the stride-1 backward-input pass
  int64_t row_span;       // planar backward-input: row width computed, a multiple of 2 vectors
  int64_t ldk;            // dcol row stride (col2im backward-input): K in whole cache lines
  int64_t chunk;          // dcol rows per chunk (col2im backward-input)
};

ConvGeometry geometry(const WindowShape& s) {
  ConvGeometry g;
  g.h = s.input.h, g.w = s.input.w, g.cin = s.input.c;
  g.oh = s.output.h, g.ow = s.output.w, g.cout = s.output.c;
  g.batch = s.input.n;
  g.k = static_cast<int64_t>(s.kernel_h) * s.kernel_w * g.cin;
  g.unit_stride = s.stride_h == 1 && s.stride_w == 1;
  g.direct = s.kernel_h == 1 && s.kernel_w == 1 && g.unit_stride && s.pad_top == 0 && s.pad_left == 0 &&
             g.oh == g.h && g.ow == g.w;
  // The transposed pass is a GEMM with N = Cin; below about a vector of channels (the
  // first layer's RGB) its narrow tiles lose to the K-wide GEMM plus col2im.
  g.transposed_bwd = g.unit_stride && !g.direct && g.cin >= 8;
  // Below that, channels are too few for GEMM columns but few enough to be accumulators.
  // (TFLite SAME and VALID pad at most kernel - 1 on every side, so grad_out fits the planes.)
  g.planar_bwd = g.unit_stride && !g.direct && g.cin <= kPlanarMaxChannels && s.pad_top < s.kernel_h &&
                 s.pad_left < s.kernel_w && g.oh - s.pad_top <= g.h && g.ow - s.pad_left <= g.w;
  // Backward-filter GEMMs are Cout x (kw*Cin) per kernel row; when kw*Cin is under a
  // vector and Cout is wider (first layers: RGB or one MFCC channel), the transposed
  // product (kw*Cin) x Cout vectorizes along Cout instead.
  g.transposed_dw = !g.direct && s.kernel_w * g.cin < 16 && g.cout > s.kernel_w * g.cin;
  g.hp = (g.oh - 1) * s.stride_h + s.kernel_h;
  g.wp = (g.ow - 1) * s.stride_w + s.kernel_w;
  g.pad_input = s.pad_top > 0 || s.pad_left > 0 || g.hp > g.h || g.wp > g.w;
  if (!g.pad_input) g.hp = g.h, g.wp = g.w;  // windows index the input itself
  g.hq = g.h + s.kernel_h - 1;
  g.wq = g.w + s.kernel_w - 1;
  g.row_span = (g.w + kPlanarRowAlign - 1) / kPlanarRowAlign * kPlanarRowAlign;
  if (g.planar_bwd) g.wq = g.row_span + s.kernel_w - 1;  // whole vectors read past the image
  g.ldk = (g.k + 15) / 16 * 16;
  const int64_t rows = std::max<int64_t>(kChunkAlign, kChunkFloats / g.ldk / kChunkAlign * kChunkAlign);
  g.chunk = std::max<int64_t>(std::min(rows, g.batch * g.oh * g.ow), 1);
  return g;
}

// Scratch of each pass; with a null base Carver only counts. Kept next to each other so
// the sizes and the kernels cannot disagree.
// One worker's buffers for the image it is working on.
struct ImageSlot {
  float* padded = nullptr;       // a padded image (input, or grad_out), or null
  const float** rows = nullptr;  // one pointer per pixel of the GEMM's A or B
  float* dcol = nullptr;         // col2im backward-input: one chunk of dcol rows
};

struct ForwardScratch {
  float* filter_t;              // [K][Cout]
  ImageSlot slot[kMaxThreads];  // per worker: padded input image (or null), output-pixel rows
  ForwardScratch(Carver& c, const ConvGeometry& g) {
    filter_t = c.take(g.k * g.cout);
    for (ImageSlot& s : slot) {
      if (g.direct) break;
      s.padded = g.pad_input ? c.take(g.hp * g.wp * g.cin) : nullptr;
      s.rows = c.take_rows(g.oh * g.ow);
    }
  }
};

struct BackwardInputScratch {
  float* filter_r = nullptr;    // transposed: the rotated, transposed filter [kh][kw][Cout][Cin];
                                // planar: the rotated filter [Cout][kh][kw][Cin]
  ImageSlot slot[kMaxThreads];  // per worker: transposed: padded grad_out, input-pixel rows;
                                // planar: grad_out planes [Cout][hq][wq], then 2 rows of
                                // results [2][Cin][row_span] (in dcol); else dcol
  BackwardInputScratch(Carver& c, const ConvGeometry& g) {
    if (g.direct) return;
    if (g.transposed_bwd || g.planar_bwd) filter_r = c.take(g.k * g.cout);
    for (ImageSlot& s : slot) {
      if (g.planar_bwd) {
        s.padded = c.take(g.cout * g.hq * g.wq);
        s.dcol = c.take(2 * g.cin * g.row_span);
      } else if (g.transposed_bwd) {
        s.padded = c.take(g.hq * g.wq * g.cout);
        s.rows = c.take_rows(g.h * g.w);
      } else {
        s.dcol = c.take(g.chunk * g.ldk);
      }
    }
  }
};

struct BackwardFilterScratch {
  float* filter_t = nullptr;    // transposed_dw: dfilter^T [K][Cout]
  ImageSlot slot[kMaxThreads];  // per worker: padded input image (or null), output-pixel rows
  BackwardFilterScratch(Carver& c, const ConvGeometry& g) {
    if (g.direct) return;
    if (g.transposed_dw) filter_t = c.take(g.k * g.cout);
    for (ImageSlot& s : slot) {
      s.padded = g.pad_input ? c.take(g.hp * g.wp * g.cin) : nullptr;
      s.rows = c.take_rows(g.oh * g.ow);
    }
  }
};

}  // namespace
}  // namespace slingshot
#endif  // SLINGSHOT_CONV2D_F32_SIMD_SHARED

// ---------------------------------------------------------------------------------------
// Per-target copies: padding an image, and col2im for the backward-input GEMM pass.
HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// dst[0, n) = src[0, n) (or zeros if src is null) for n >= lanes(D): whole vectors, the
// last one placed to end exactly at n (rewriting a few floats with the same values).
template <class D>
HWY_INLINE void CopyWide(D d, float* dst, const float* src, int64_t n) {
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  if (src) {
    for (; i + lanes <= n; i += lanes) hn::StoreU(hn::LoadU(d, src + i), d, dst + i);
    if (i < n) hn::StoreU(hn::LoadU(d, src + n - lanes), d, dst + n - lanes);
  } else {
    const auto zero = hn::Zero(d);
    for (; i + lanes <= n; i += lanes) hn::StoreU(zero, d, dst + i);
    if (i < n) hn::StoreU(zero, d, dst + n - lanes);
  }
}

// Any n >= 0: the widest vector that fits, halving down to scalars for tiny runs.
template <size_t kLanes = HWY_LANES(float)>
HWY_INLINE void CopyRun(float* dst, const float* src, int64_t n) {
  using D = hn::CappedTag<float, kLanes>;
  if (n >= static_cast<int64_t>(hn::Lanes(D()))) return CopyWide(D(), dst, src, n);
  if constexpr (kLanes > 2) {
    return CopyRun<kLanes / 2>(dst, src, n);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src ? src[i] : 0.0f;
  }
}

// dst[hp][wp][c] = src[h][w][c] placed at (top, left), zeros elsewhere; source rows and
// columns beyond the padded extent (never read by a window) are dropped.
void PadImage(const float* src, int64_t h, int64_t w, int64_t c, int64_t top, int64_t left, int64_t hp,
              int64_t wp, float* dst) {
  const int64_t cols = std::max<int64_t>(0, std::min(w, wp - left));
  for (int64_t y = 0; y < hp; ++y) {
    float* row = dst + y * wp * c;
    const int64_t sy = y - top;
    if (sy < 0 || sy >= h || cols == 0) {
      CopyRun(row, nullptr, wp * c);
      continue;
    }
    CopyRun(row, nullptr, left * c);
    CopyRun(row + left * c, src + sy * w * c, cols * c);
    CopyRun(row + (left + cols) * c, nullptr, (wp - left - cols) * c);
  }
}

// dst[0, n) += src[0, n): whole vectors, then scalars. Neighbouring windows' runs
// overlap in grad_input, so narrower or overlapping vectors would reload floats just
// stored at a different offset and stall on store-to-load forwarding; scalars forward.
HWY_INLINE void AddRun(float* dst, const float* src, int64_t n) {
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Add(hn::LoadU(d, dst + i), hn::LoadU(d, src + i)), d, dst + i);
  for (; i < n; ++i) dst[i] += src[i];
}

// grad_input += col2im(dcol) for output pixels [row0, row0 + rows): each kernel row of a
// window is a contiguous run of grad_input (consecutive kx are consecutive pixels).
void Col2ImAdd(const WindowShape& s, const float* dcol, int64_t ldk, int64_t row0, int64_t rows,
               float* grad_input) {
  const int64_t cin = s.input.c, kw = s.kernel_w, ow = s.output.w, oh = s.output.h;
  int64_t ox = row0 % ow, oy = (row0 / ow) % oh, n = row0 / (ow * oh);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t iy0 = oy * s.stride_h - s.pad_top;
    const int64_t ix0 = ox * s.stride_w - s.pad_left;
    const int64_t lo = std::max<int64_t>(0, -ix0);
    const int64_t hi = std::min<int64_t>(kw, s.input.w - ix0);
    for (int64_t ky = 0; ky < s.kernel_h && lo < hi; ++ky) {
      const int64_t iy = iy0 + ky;
      if (iy < 0 || iy >= s.input.h) continue;
      AddRun(grad_input + ((n * s.input.h + iy) * s.input.w + ix0 + lo) * cin, dcol + r * ldk + (ky * kw + lo) * cin,
             (hi - lo) * cin);
    }
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) oy = 0, ++n;
    }
  }
}

// dst[x * C + c] = src[c * stride + x] for a vector of x: channel planes to NHWC.
template <int C, class D>
HWY_INLINE void StoreChannels(D d, const float* src, int64_t stride, float* dst) {
  if constexpr (C == 1) {
    hn::StoreU(hn::LoadU(d, src), d, dst);
  } else if constexpr (C == 2) {
    hn::StoreInterleaved2(hn::LoadU(d, src), hn::LoadU(d, src + stride), d, dst);
  } else if constexpr (C == 3) {
    hn::StoreInterleaved3(hn::LoadU(d, src), hn::LoadU(d, src + stride), hn::LoadU(d, src + 2 * stride), d, dst);
  } else {
    hn::StoreInterleaved4(hn::LoadU(d, src), hn::LoadU(d, src + stride), hn::LoadU(d, src + 2 * stride),
                          hn::LoadU(d, src + 3 * stride), d, dst);
  }
}

// R rows of one image's grad_input, from row iy, on C input channels:
//   out[r][c][x] = sum over o, ky, kx of planes[o][iy + r + ky][x + kx] * filter_r[o][ky][kx][c]
// for x in [0, row_span), two vectors at a time; every output sums in the same order.
template <int C, int R>
void PlanarRows(const float* planes, int64_t hq, int64_t wq, int64_t cout, int64_t kh, int64_t kw,
                const float* filter_r, int64_t iy, int64_t row_span, float* out) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t x0 = 0; x0 < row_span; x0 += 2 * lanes) {
    V acc[R][2][C];
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < 2; ++j)
        for (int c = 0; c < C; ++c) acc[r][j][c] = hn::Zero(d);
    const float* w = filter_r;
    for (int64_t o = 0; o < cout; ++o) {
      for (int64_t ky = 0; ky < kh; ++ky) {
        const float* row[R];
        for (int r = 0; r < R; ++r) row[r] = planes + (o * hq + iy + r + ky) * wq + x0;
        for (int64_t kx = 0; kx < kw; ++kx, w += C) {
          V v[R][2];
          for (int r = 0; r < R; ++r)
            for (int j = 0; j < 2; ++j) v[r][j] = hn::LoadU(d, row[r] + kx + j * lanes);
          for (int c = 0; c < C; ++c) {
            const V wc = hn::Set(d, w[c]);
            for (int r = 0; r < R; ++r)
              for (int j = 0; j < 2; ++j) acc[r][j][c] = hn::MulAdd(wc, v[r][j], acc[r][j][c]);
          }
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c)
        for (int j = 0; j < 2; ++j) hn::StoreU(acc[r][j][c], d, out + (r * C + c) * row_span + x0 + j * lanes);
  }
}

// grad_input of images [n0, n1) by PlanarRows (see conv2d_backward_input_f32__simd).
template <int C>
void PlanarImages(const WindowShape& s, int64_t hq, int64_t wq, int64_t row_span, const float* grad_output,
                  const float* filter_r, int64_t n0, int64_t n1, float* planes, float* rows, float* grad_input,
                  bool accumulate) {
  const int64_t h = s.input.h, w = s.input.w, oh = s.output.h, ow = s.output.w, cout = s.output.c;
  const int64_t kh = s.kernel_h, kw = s.kernel_w;
  const int64_t top = kh - 1 - s.pad_top, left = kw - 1 - s.pad_left;
  const hn::ScalableTag<float> d;
  const hn::RebindToSigned<decltype(d)> di;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto channel_stride = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(cout)));
  // The zero border around each plane; the interior is overwritten for every image.
  for (int64_t o = 0; o < cout; ++o) {
    float* plane = planes + o * hq * wq;
    CopyRun(plane, nullptr, top * wq);
    CopyRun(plane + (top + oh) * wq, nullptr, (hq - top - oh) * wq);
    for (int64_t y = top; y < top + oh; ++y) {
      CopyRun(plane + y * wq, nullptr, left);
      CopyRun(plane + y * wq + left + ow, nullptr, wq - left - ow);
    }
  }
  for (int64_t n = n0; n < n1; ++n) {
    // planes[o][top + oy][left + ox] = grad_output(n, oy, ox, o): a strided gather per
    // vector of pixels.
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float* g = grad_output + (n * oh + oy) * ow * cout;
      for (int64_t o = 0; o < cout; ++o) {
        float* dst = planes + (o * hq + top + oy) * wq + left;
        int64_t x = 0;
        for (; x + lanes <= ow; x += lanes) hn::StoreU(hn::GatherIndex(d, g + x * cout + o, channel_stride), d, dst + x);
        for (; x < ow; ++x) dst[x] = g[x * cout + o];
      }
    }
    float* image = grad_input + n * h * w * C;
    for (int64_t iy = 0; iy < h; iy += 2) {
      const int r_count = iy + 1 < h ? 2 : 1;
      if (r_count == 2)
        PlanarRows<C, 2>(planes, hq, wq, cout, kh, kw, filter_r, iy, row_span, rows);
      else
        PlanarRows<C, 1>(planes, hq, wq, cout, kh, kw, filter_r, iy, row_span, rows);
      for (int r = 0; r < r_count; ++r) {
        float* dst = image + (iy + r) * w * C;
        const float* src = rows + r * C * row_span;
        int64_t x = 0;
        if (accumulate) {  // scalar: the RGB layer feeds only one consumer in the zoo
          for (; x < w; ++x)
            for (int c = 0; c < C; ++c) dst[x * C + c] += src[c * row_span + x];
        }
        for (; x + lanes <= w; x += lanes) StoreChannels<C>(d, src + x, row_span, dst + x * C);
        for (; x < w; ++x)
          for (int c = 0; c < C; ++c) dst[x * C + c] = src[c * row_span + x];
      }
    }
  }
}

void PlanarBackwardInput(const WindowShape& s, int64_t hq, int64_t wq, int64_t row_span, const float* grad_output,
                         const float* filter_r, int64_t n0, int64_t n1, float* planes, float* rows,
                         float* grad_input, bool accumulate) {
  switch (s.input.c) {
    case 1: return PlanarImages<1>(s, hq, wq, row_span, grad_output, filter_r, n0, n1, planes, rows, grad_input, accumulate);
    case 2: return PlanarImages<2>(s, hq, wq, row_span, grad_output, filter_r, n0, n1, planes, rows, grad_input, accumulate);
    case 3: return PlanarImages<3>(s, hq, wq, row_span, grad_output, filter_r, n0, n1, planes, rows, grad_input, accumulate);
    default: return PlanarImages<4>(s, hq, wq, row_span, grad_output, filter_r, n0, n1, planes, rows, grad_input, accumulate);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {

HWY_EXPORT(PadImage);
HWY_EXPORT(Col2ImAdd);
HWY_EXPORT(PlanarBackwardInput);

// Where the windows of image n start: the padded copy (made here) or the input itself.
// Returns the base; windows then start at base + (oy * sh * wp + ox * sw) * Cin.
const float* window_base(const WindowShape& s, const ConvGeometry& g, const float* input, int64_t n, float* padded) {
  const float* image = input + n * g.h * g.w * g.cin;
  if (!g.pad_input) return image;
  HWY_DYNAMIC_DISPATCH(PadImage)(image, g.h, g.w, g.cin, s.pad_top, s.pad_left, g.hp, g.wp, padded);
  return padded;
}

void window_rows(const WindowShape& s, const ConvGeometry& g, const float* base, const float** rows) {
  for (int64_t oy = 0; oy < g.oh; ++oy)
    for (int64_t ox = 0; ox < g.ow; ++ox) *rows++ = base + (oy * s.stride_h * g.wp + ox * s.stride_w) * g.cin;
}

}  // namespace

size_t conv2d_f32__simd_scratch_size(const WindowShape& s) {
  const ConvGeometry g = geometry(s);
  Carver fwd(nullptr), bwd_in(nullptr), bwd_f(nullptr);
  const ForwardScratch f(fwd, g);
  const BackwardInputScratch bi(bwd_in, g);
  const BackwardFilterScratch bf(bwd_f, g);
  return static_cast<size_t>(std::max({fwd.counted(), bwd_in.counted(), bwd_f.counted()}));
}

void conv2d_forward_f32__simd(const WindowShape& s, const float* input, const float* filter, const float* bias,
                              float* output, float* scratch, FusedRelu relu, const float* residual) {
  const ConvGeometry g = geometry(s);
  if (g.batch * g.oh * g.ow == 0) return;
  Carver carver(scratch);
  const ForwardScratch sc(carver, g);
  // B = filter^T [K][Cout], so output rows come out contiguous (NHWC). In 16 x 16
  // blocks: a plain loop wrote a float per cache line and cost 2% of an attack gradient.
  constexpr int64_t kBlock = 16;
  for (int64_t o0 = 0; o0 < g.cout; o0 += kBlock)
    for (int64_t p0 = 0; p0 < g.k; p0 += kBlock)
      for (int64_t p = p0; p < std::min(p0 + kBlock, g.k); ++p)
        for (int64_t o = o0; o < std::min(o0 + kBlock, g.cout); ++o) sc.filter_t[p * g.cout + o] = filter[o * g.k + p];
  GemmArgs a{};
  a.n = g.cout, a.k = g.k;
  a.a_col_stride = 1;
  a.b = sc.filter_t, a.ldb = g.cout;
  a.ldc = g.cout;
  a.init = bias ? GemmInit::kRowVector : GemmInit::kZero;
  a.row = bias;
  a.relu = relu;
  a.addend = residual;
  if (g.direct) {
    a.m = g.batch * g.oh * g.ow, a.a = input, a.a_row_stride = g.cin, a.c = output;
    simd_internal::gemm_f32_nn_parallel(a);
    return;
  }
  a.m = g.oh * g.ow;
  a.k_segment = s.kernel_w * g.cin;
  a.a_segment_stride = g.wp * g.cin;
  const int64_t tasks = simd_internal::parallel_tasks(g.batch * a.m * g.cout * g.k, g.batch);
  parallel_ranges(g.batch, tasks, [&](int64_t n0, int64_t n1, int worker) {
    const ImageSlot& slot = sc.slot[worker];
    GemmArgs t = a;
    t.a_rows = slot.rows;
    for (int64_t n = n0; n < n1; ++n) {
      window_rows(s, g, window_base(s, g, input, n, slot.padded), slot.rows);
      t.c = output + n * g.oh * g.ow * g.cout;
      if (residual) t.addend = residual + n * g.oh * g.ow * g.cout;
      simd_internal::gemm_f32_nn(t);
    }
  });
}

void conv2d_backward_input_f32__simd(const WindowShape& s, const float* grad_output, const float* filter,
                                     float* grad_input, float* scratch, bool accumulate) {
  const ConvGeometry g = geometry(s);
  Carver carver(scratch);
  const BackwardInputScratch sc(carver, g);
  GemmArgs a{};
  a.init = accumulate ? GemmInit::kAccumulate : GemmInit::kZero;
  if (g.direct) {  // grad_input = grad_out [M][Cout] x filter [Cout][Cin]
    a.m = g.batch * g.h * g.w, a.n = g.cin, a.k = g.cout;
    a.a = grad_output, a.a_row_stride = g.cout, a.a_col_stride = 1;
    a.b = filter, a.ldb = g.cin;
    a.c = grad_input, a.ldc = g.cin;
    simd_internal::gemm_f32_nn_parallel(a);
    return;
  }
  const int64_t kh = s.kernel_h, kw = s.kernel_w;
  const int64_t tasks = simd_internal::parallel_tasks(g.batch * g.oh * g.ow * g.cout * g.k, g.batch);
  if (g.planar_bwd) {
    // filter_r[o][ky][kx][c] = filter(o, kh-1-ky, kw-1-kx, c): planes are read forwards.
    for (int64_t o = 0; o < g.cout; ++o)
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = 0; kx < kw; ++kx) {
          const float* src = filter + ((o * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * g.cin;
          std::copy(src, src + g.cin, sc.filter_r + ((o * kh + ky) * kw + kx) * g.cin);
        }
    parallel_ranges(g.batch, tasks, [&](int64_t n0, int64_t n1, int worker) {
      const ImageSlot& slot = sc.slot[worker];
      HWY_DYNAMIC_DISPATCH(PlanarBackwardInput)(s, g.hq, g.wq, g.row_span, grad_output, sc.filter_r, n0, n1,
                                                slot.padded, slot.dcol, grad_input, accumulate);
    });
    return;
  }
  if (g.transposed_bwd) {
    // grad_in(iy, ix) = sum over (ky', kx') of padded_grad_out(iy + ky', ix + kx') x
    // filter(:, kh-1-ky', kw-1-kx', :), with grad_out placed at (kh-1-pad_top, kw-1-pad_left).
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx)
        for (int64_t o = 0; o < g.cout; ++o) {
          const float* src = filter + ((o * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * g.cin;
          std::copy(src, src + g.cin, sc.filter_r + ((ky * kw + kx) * g.cout + o) * g.cin);
        }
    a.m = g.h * g.w, a.n = g.cin, a.k = kh * kw * g.cout;
    a.a_col_stride = 1;
    a.k_segment = kw * g.cout;
    a.a_segment_stride = g.wq * g.cout;
    a.b = sc.filter_r, a.ldb = g.cin;
    a.ldc = g.cin;
    parallel_ranges(g.batch, tasks, [&](int64_t n0, int64_t n1, int worker) {
      const ImageSlot& slot = sc.slot[worker];
      GemmArgs t = a;
      t.a_rows = slot.rows;
      for (int64_t y = 0; y < g.h; ++y)
        for (int64_t x = 0; x < g.w; ++x) slot.rows[y * g.w + x] = slot.padded + (y * g.wq + x) * g.cout;
      for (int64_t n = n0; n < n1; ++n) {
        HWY_DYNAMIC_DISPATCH(PadImage)(grad_output + n * g.oh * g.ow * g.cout, g.oh, g.ow, g.cout,
                                       kh - 1 - s.pad_top, kw - 1 - s.pad_left, g.hq, g.wq, slot.padded);
        t.c = grad_input + n * g.h * g.w * g.cin;
        simd_internal::gemm_f32_nn(t);
      }
    });
    return;
  }
  // dcol = grad_out x filter [Cout][K] chunk by chunk, scattered back by col2im. Windows
  // overlap only within an image, so ranges of images are independent.
  a.init = GemmInit::kZero;  // into dcol; col2im adds it to grad_input
  a.n = g.k, a.k = g.cout;
  a.a_row_stride = g.cout, a.a_col_stride = 1;
  a.b = filter, a.ldb = g.k;
  a.ldc = g.ldk;
  const int64_t image_in = g.h * g.w * g.cin, image_rows = g.oh * g.ow;
  parallel_ranges(g.batch, tasks, [&](int64_t n0, int64_t n1, int worker) {
    if (!accumulate) std::fill(grad_input + n0 * image_in, grad_input + n1 * image_in, 0.0f);
    GemmArgs t = a;
    t.c = sc.slot[worker].dcol;
    for (int64_t row0 = n0 * image_rows; row0 < n1 * image_rows; row0 += g.chunk) {
      const int64_t rows = std::min(g.chunk, n1 * image_rows - row0);
      t.m = rows, t.a = grad_output + row0 * g.cout;
      simd_internal::gemm_f32_nn(t);
      HWY_DYNAMIC_DISPATCH(Col2ImAdd)(s, t.c, g.ldk, row0, rows, grad_input);
    }
  });
}

void conv2d_backward_filter_f32__simd(const WindowShape& s, const float* input, const float* grad_output,
                                      float* grad_filter, float* grad_bias, float* scratch) {
  const ConvGeometry g = geometry(s);
  const int64_t m = g.batch * g.oh * g.ow;
  if (grad_bias) simd_internal::column_sums_f32(grad_output, m, g.cout, g.cout, grad_bias, false);
  Carver carver(scratch);
  const BackwardFilterScratch sc(carver, g);
  GemmArgs a{};
  a.m = g.cout;
  a.a_row_stride = 1, a.a_col_stride = g.cout;  // A = grad_out^T
  a.init = GemmInit::kZero;
  if (g.direct || m == 0) {  // grad_filter = grad_out^T [Cout][M] x input [M][Cin]
    a.n = g.k, a.k = m;      // k == 0 just zeroes grad_filter
    a.a = grad_output, a.b = input, a.ldb = g.k;
    a.c = grad_filter, a.ldc = g.k;
    simd_internal::gemm_f32_nn_parallel(a);
    return;
  }
  // Every image adds to every filter element, so threads split the GEMMs' rows (their M,
  // at least 4 per task) and each task walks all images in order, padding them itself.
  const int64_t run = s.kernel_w * g.cin;
  const int64_t macs = m * g.cout * g.k;
  if (g.transposed_dw) {
    // Per image and kernel row ky: rows [ky*run, (ky+1)*run) of dfilter^T += (the ky-th
    // run of every window)^T x grad_out, the runs read in place as columns of A.
    GemmArgs t{};
    t.n = g.cout, t.k = g.oh * g.ow;
    t.ldb = g.cout;
    t.ldc = g.cout;
    const int64_t tasks = simd_internal::parallel_tasks(macs, std::min<int64_t>(run / 4, kMaxThreads));
    parallel_ranges(run, tasks, [&](int64_t r0, int64_t r1, int worker) {
      const ImageSlot& slot = sc.slot[worker];
      GemmArgs u = t;
      u.a_cols = slot.rows;
      u.init = GemmInit::kZero;
      for (int64_t n = 0; n < g.batch; ++n) {
        window_rows(s, g, window_base(s, g, input, n, slot.padded), slot.rows);
        u.b = grad_output + n * g.oh * g.ow * g.cout;
        for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
          u.a_offset = ky * g.wp * g.cin;
          u.c = sc.filter_t + ky * run * g.cout;
          simd_internal::gemm_f32_nn(simd_internal::gemm_rows(u, r0, r1 - r0));
        }
        u.init = GemmInit::kAccumulate;
      }
    });
    for (int64_t o = 0; o < g.cout; ++o)
      for (int64_t p = 0; p < g.k; ++p) grad_filter[o * g.k + p] = sc.filter_t[p * g.cout + o];
    return;
  }
  // One GEMM per image and kernel row ky: the ky-th [Cout][kw*Cin] block of grad_filter
  // += grad_out^T x (the ky-th run of every window), the runs read in place.
  a.n = run, a.k = g.oh * g.ow;
  a.ldc = g.k;
  const int64_t tasks = simd_internal::parallel_tasks(macs, std::min<int64_t>(g.cout / 4, kMaxThreads));
  parallel_ranges(g.cout, tasks, [&](int64_t o0, int64_t o1, int worker) {
    const ImageSlot& slot = sc.slot[worker];
    GemmArgs t = a;
    t.b_rows = slot.rows;
    for (int64_t n = 0; n < g.batch; ++n) {
      window_rows(s, g, window_base(s, g, input, n, slot.padded), slot.rows);
      t.a = grad_output + n * g.oh * g.ow * g.cout;
      for (int64_t ky = 0; ky < s.kernel_h; ++ky) {
        t.b_offset = ky * g.wp * g.cin;
        t.c = grad_filter + ky * run;
        simd_internal::gemm_f32_nn(simd_internal::gemm_rows(t, o0, o1 - o0));
      }
      t.init = GemmInit::kAccumulate;
    }
  });
}

}  // namespace slingshot
#endif  // HWY_ONCE
