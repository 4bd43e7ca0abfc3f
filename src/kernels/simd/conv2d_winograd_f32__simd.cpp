// Winograd F(4x4, 3x3) convolution (see the header). With points 0, +-1, +-2 and infinity,
// an output tile Y (4x4) of one output channel is
//   Y = A^T [ sum over input channels of (G g G^T) .* (B^T d B) ] A
// for the 6x6 input tile d and the 3x3 filter g. The sum is 36 independent GEMMs, one per
// position xi of the 6x6 transformed tile:
//   M[xi][tiles][Cout] = V[xi][tiles][Cin] x U[xi][Cin][Cout]
// with V the transformed input tiles and U the transformed filter. Tiles are processed in
// blocks sized so that a block's V and M stay in L2 between the three steps:
//   1. input transform  V = B^T d B per tile and channel (vectors along NHWC channels;
//      taps outside the image read as zeros, which is the padding);
//   2. the 36 GEMMs of gemm_f32__simd (at 16 -> 16 channels on AVX-512, OneVectorGemms);
//   3. output transform Y = A^T M A, plus the bias (and a fused ReLU), stored for the
//      pixels inside the output.
// The filter transform U = G g G^T is computed in double, once per call of the one-call
// forms; callers that run one filter many times transform it once and pass U.
//
// Threads: blocks are fixed by the shape, not the thread count, and each block's outputs
// are computed by one task with the same operations (gemm_rows), so results are
// bit-identical for any thread count.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/conv2d_winograd_f32__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>
#include <hwy/cache_control.h>

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/simd/conv2d_winograd_f32__simd.h"
#include "kernels/simd/gemm_f32__simd.h"
#include "kernels/simd/relu_f32-inl.h"
#include "kernels/simd/scratch_carver.h"

// Target-independent helpers, compiled once although foreach_target re-includes this file.
#ifndef SLINGSHOT_CONV2D_WINOGRAD_F32_SIMD_SHARED
#define SLINGSHOT_CONV2D_WINOGRAD_F32_SIMD_SHARED
namespace slingshot {
namespace {

constexpr int64_t kTile = 4;        // output tile side
constexpr int64_t kInTile = 6;      // input tile side: kTile + 3 - 1
constexpr int64_t kPositions = 36;  // kInTile * kInTile: GEMMs per block
// Floats of V plus M per block: 256 KB, half a typical L2, so a block's transformed
// tiles survive from the input transform through the GEMMs to the output transform.
constexpr int64_t kBlockFloats = int64_t{1} << 16;

struct WinogradGeometry {
  int64_t h, w, cin;           // input image
  int64_t oh, ow, cout;        // output image
  int64_t pad_top, pad_left;   // implicit zeros before the image
  int64_t tiles_y, tiles_x;    // output tiles per image along each axis
  int64_t tiles;               // output tiles over the whole batch
  int64_t block;               // tiles per block
};

WinogradGeometry winograd_geometry(const WindowShape& s) {
  WinogradGeometry g;
  g.h = s.input.h, g.w = s.input.w, g.cin = s.input.c;
  g.oh = s.output.h, g.ow = s.output.w, g.cout = s.output.c;
  g.pad_top = s.pad_top, g.pad_left = s.pad_left;
  g.tiles_y = (g.oh + kTile - 1) / kTile;
  g.tiles_x = (g.ow + kTile - 1) / kTile;
  g.tiles = int64_t{s.input.n} * g.tiles_y * g.tiles_x;
  g.block = std::clamp<int64_t>(kBlockFloats / (kPositions * (g.cin + g.cout)), 16, 256);
  return g;
}

// Element (o, ky, kx, i) of a 3x3 filter is base[o * o_stride + ky * ky_stride + kx * kx_stride + i * i_stride],
// which reads the forward filter and the rotated, transposed one of backward-input alike.
struct FilterTaps {
  const float* base;
  int64_t o_stride, ky_stride, kx_stride, i_stride;
};

struct WinogradScratch {
  float* v[kMaxThreads];     // per worker: transformed input tiles of a block [36][block][Cin]
  float* m[kMaxThreads];     // per worker: GEMM products of a block [36][block][Cout]
  WinogradScratch(simd_internal::Carver& c, const WinogradGeometry& g) {
    for (int t = 0; t < kMaxThreads; ++t) {
      v[t] = c.take(kPositions * g.block * g.cin);
      m[t] = c.take(kPositions * g.block * g.cout);
    }
  }
};

// U[xi][i][o] = (G g G^T)[xi] for every filter g(o, :, :, i), in double.
void transform_filter(const WinogradGeometry& g, const FilterTaps& f, float* u) {
  static constexpr double kG[kInTile][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                            {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                            {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};
  for (int64_t o = 0; o < g.cout; ++o)
    for (int64_t i = 0; i < g.cin; ++i) {
      const float* taps = f.base + o * f.o_stride + i * f.i_stride;
      double gw[kInTile][3];  // G g
      for (int a = 0; a < kInTile; ++a)
        for (int kx = 0; kx < 3; ++kx) {
          double sum = 0;
          for (int ky = 0; ky < 3; ++ky) sum += kG[a][ky] * taps[ky * f.ky_stride + kx * f.kx_stride];
          gw[a][kx] = sum;
        }
      for (int a = 0; a < kInTile; ++a)
        for (int b = 0; b < kInTile; ++b) {
          const double value = gw[a][0] * kG[b][0] + gw[a][1] * kG[b][1] + gw[a][2] * kG[b][2];
          u[((a * kInTile + b) * g.cin + i) * g.cout + o] = static_cast<float>(value);
        }
    }
}

}  // namespace
}  // namespace slingshot
#endif  // SLINGSHOT_CONV2D_WINOGRAD_F32_SIMD_SHARED

// ---------------------------------------------------------------------------------------
// Per-target copies: the input and output transforms of a block of tiles.
HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#define SLING_WINOGRAD_UNROLL HWY_UNROLL(16)

// r = B^T x along one axis of the tile.
template <class D, class V = hn::Vec<D>>
HWY_INLINE void ApplyBt(D d, const V* x, V* r) {
  const V two = hn::Set(d, 2.0f), four = hn::Set(d, 4.0f), five = hn::Set(d, 5.0f);
  r[0] = hn::MulAdd(four, x[0], hn::NegMulAdd(five, x[2], x[4]));
  r[1] = hn::NegMulAdd(four, hn::Add(x[1], x[2]), hn::Add(x[3], x[4]));
  r[2] = hn::MulAdd(four, hn::Sub(x[1], x[2]), hn::Sub(x[4], x[3]));
  r[3] = hn::MulAdd(two, hn::Sub(x[3], x[1]), hn::Sub(x[4], x[2]));
  r[4] = hn::NegMulAdd(two, hn::Sub(x[3], x[1]), hn::Sub(x[4], x[2]));
  r[5] = hn::MulAdd(four, x[1], hn::NegMulAdd(five, x[3], x[5]));
}

// y = A^T m along one axis of the tile.
template <class D, class V = hn::Vec<D>>
HWY_INLINE void ApplyAt(D d, const V* m, V* y) {
  const V two = hn::Set(d, 2.0f), four = hn::Set(d, 4.0f), eight = hn::Set(d, 8.0f);
  const V sum12 = hn::Add(m[1], m[2]), diff12 = hn::Sub(m[1], m[2]);
  const V sum34 = hn::Add(m[3], m[4]), diff34 = hn::Sub(m[3], m[4]);
  y[0] = hn::Add(hn::Add(m[0], sum12), sum34);
  y[1] = hn::MulAdd(two, diff34, diff12);
  y[2] = hn::MulAdd(four, sum34, sum12);
  y[3] = hn::Add(hn::MulAdd(eight, diff34, diff12), m[5]);
}

// V[xi][t][c, c + lanes) of one tile whose top-left input tap is (y0, x0) of `image`.
template <class D>
HWY_INLINE void InputTile(D d, const WinogradGeometry& g, const float* image, int64_t y0, int64_t x0, int64_t c,
                          float* v, int64_t xi_stride) {
  using V = hn::Vec<D>;
  V col[kInTile], t[kInTile][kInTile];  // t = B^T d, column by column
  for (int64_t j = 0; j < kInTile; ++j) {
    const int64_t x = x0 + j;
    const bool x_inside = x >= 0 && x < g.w;
    for (int64_t i = 0; i < kInTile; ++i) {
      const int64_t y = y0 + i;
      col[i] = x_inside && y >= 0 && y < g.h ? hn::LoadU(d, image + (y * g.w + x) * g.cin + c) : hn::Zero(d);
    }
    V r[kInTile];
    ApplyBt(d, col, r);
    for (int64_t i = 0; i < kInTile; ++i) t[i][j] = r[i];
  }
  for (int64_t i = 0; i < kInTile; ++i) {
    V r[kInTile];
    ApplyBt(d, t[i], r);
    for (int64_t j = 0; j < kInTile; ++j) hn::StoreU(r[j], d, v + (i * kInTile + j) * xi_stride + c);
  }
}

// Output pixels of one tile, channels [c, c + lanes), from M[xi][t][...].
template <class D>
HWY_INLINE void OutputTile(D d, const WinogradGeometry& g, const float* m, int64_t xi_stride, const float* bias,
                           FusedRelu relu, bool accumulate, const float* residual, float* image, int64_t oy0,
                           int64_t ox0, int64_t c) {
  using V = hn::Vec<D>;
  V col[kInTile], t[kTile][kInTile];  // t = A^T M, column by column
  for (int64_t j = 0; j < kInTile; ++j) {
    for (int64_t i = 0; i < kInTile; ++i) col[i] = hn::LoadU(d, m + (i * kInTile + j) * xi_stride + c);
    V y[kTile];
    ApplyAt(d, col, y);
    for (int64_t i = 0; i < kTile; ++i) t[i][j] = y[i];
  }
  const V b = bias ? hn::LoadU(d, bias + c) : hn::Zero(d), upper = hn::Set(d, relu.upper);
  const int64_t rows = std::min(kTile, g.oh - oy0), cols = std::min(kTile, g.ow - ox0);
  for (int64_t i = 0; i < rows; ++i) {
    V y[kTile];
    ApplyAt(d, t[i], y);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t at = ((oy0 + i) * g.ow + ox0 + j) * g.cout + c;
      float* dst = image + at;
      V out = hn::Add(y[j], b);
      if (accumulate) out = hn::Add(hn::LoadU(d, dst), out);
      if (residual) out = hn::Add(out, hn::LoadU(d, residual + at));
      hn::StoreU(relu.enabled ? ReluClamp(out, upper) : out, d, dst);
    }
  }
}

// Channels [c0, c1) in the widest vectors that fit, halving down to single lanes.
template <size_t kLanes = HWY_LANES(float), class Fn>
HWY_INLINE void ForChannels(int64_t c0, int64_t c1, const Fn& fn) {
  using D = hn::CappedTag<float, kLanes>;
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t c = c0;
  for (; c + lanes <= c1; c += lanes) fn(d, c);
  if constexpr (kLanes > 1) {
    if (c < c1) ForChannels<kLanes / 2>(c, c1, fn);
  }
}

// Asks for the input taps of `tile` that its left neighbour did not read (its last four
// columns, or all six at a row's first tile): the batch's activations are far larger
// than L2, and the transform's few operations per tap cannot hide a miss.
HWY_INLINE void PrefetchTile(const WinogradGeometry& g, const float* input, int64_t tile) {
  const int64_t per_image = g.tiles_y * g.tiles_x, n = tile / per_image, r = tile % per_image;
  const int64_t y0 = r / g.tiles_x * kTile - g.pad_top, x0 = r % g.tiles_x * kTile - g.pad_left;
  const int64_t first = r % g.tiles_x == 0 ? x0 : x0 + kInTile - kTile;
  const int64_t x_begin = std::max<int64_t>(first, 0), x_end = std::min<int64_t>(x0 + kInTile, g.w);
  if (x_begin >= x_end) return;
  const char* image = reinterpret_cast<const char*>(input + n * g.h * g.w * g.cin);
  const int64_t row_bytes = g.w * g.cin * 4, run = (x_end - x_begin) * g.cin * 4;
  for (int64_t y = std::max<int64_t>(y0, 0); y < std::min<int64_t>(y0 + kInTile, g.h); ++y) {
    const char* p = image + y * row_bytes + x_begin * g.cin * 4;
    for (int64_t b = 0; b < run; b += 64) hwy::Prefetch(p + b);
  }
}

// Step 1 for tiles [tile0, tile0 + count): V[xi][t][Cin].
void InputTransform(const WinogradGeometry& g, const float* input, int64_t tile0, int64_t count, float* v) {
  const int64_t per_image = g.tiles_y * g.tiles_x, xi_stride = g.block * g.cin;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = tile0 + t, n = tile / per_image, r = tile % per_image;
    const float* image = input + n * g.h * g.w * g.cin;
    const int64_t y0 = r / g.tiles_x * kTile - g.pad_top, x0 = r % g.tiles_x * kTile - g.pad_left;
    if (t + 1 < count) PrefetchTile(g, input, tile + 1);
    float* vt = v + t * g.cin;
    ForChannels(0, g.cin, [&](auto d, int64_t c) HWY_ATTR { InputTile(d, g, image, y0, x0, c, vt, xi_stride); });
  }
}

// Step 3 for tiles [tile0, tile0 + count): output pixels from M[xi][t][Cout], plus bias
// (added to the output's values with `accumulate`, plus `residual` if set).
void OutputTransform(const WinogradGeometry& g, const float* m, const float* bias, FusedRelu relu, bool accumulate,
                     const float* residual, int64_t tile0, int64_t count, float* output) {
  const int64_t per_image = g.tiles_y * g.tiles_x, xi_stride = g.block * g.cout;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t tile = tile0 + t, n = tile / per_image, r = tile % per_image;
    float* image = output + n * g.oh * g.ow * g.cout;
    const float* residual_image = residual ? residual + n * g.oh * g.ow * g.cout : nullptr;
    const int64_t oy0 = r / g.tiles_x * kTile, ox0 = r % g.tiles_x * kTile;
    const float* mt = m + t * g.cout;
    ForChannels(0, g.cout, [&](auto d, int64_t c) HWY_ATTR {
      OutputTile(d, g, mt, xi_stride, bias, relu, accumulate, residual_image, image, oy0, ox0, c);
    });
  }
}

// Step 2 when Cout is one vector and Cin == kCin: the 36 GEMMs hold U[xi] (kCin vectors)
// in registers and stream rows of V as broadcasts, which the general GEMM tile cannot
// (it reloads B every k). Each element is the same chain of multiply-adds from zero, in
// the same order, as gemm_f32_nn computes, so results are bit-identical to it.
template <int kCin, int kRows, class D>
HWY_INLINE void OneVectorRows(D d, const float* v, const hn::Vec<D>* u, float* m) {
  using V = hn::Vec<D>;
  V acc[kRows];
  SLING_WINOGRAD_UNROLL
  for (int r = 0; r < kRows; ++r) acc[r] = hn::Zero(d);
  SLING_WINOGRAD_UNROLL
  for (int k = 0; k < kCin; ++k) {
    SLING_WINOGRAD_UNROLL
    for (int r = 0; r < kRows; ++r) acc[r] = hn::MulAdd(hn::Set(d, v[r * kCin + k]), u[k], acc[r]);
  }
  SLING_WINOGRAD_UNROLL
  for (int r = 0; r < kRows; ++r) hn::StoreU(acc[r], d, m + r * hn::Lanes(d));
}

template <int kCin>
void OneVectorGemms(const WinogradGeometry& g, const float* v, const float* u, int64_t count, float* m) {
  using D = hn::ScalableTag<float>;
  using V = hn::Vec<D>;
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  constexpr int kRows = 12;  // 12 accumulators + kCin filter vectors fit AVX-512's 32
  for (int64_t xi = 0; xi < kPositions; ++xi) {
    V ux[kCin];
    SLING_WINOGRAD_UNROLL
    for (int k = 0; k < kCin; ++k) ux[k] = hn::LoadU(d, u + (xi * kCin + k) * lanes);
    const float* vx = v + xi * g.block * kCin;
    float* mx = m + xi * g.block * lanes;
    int64_t t = 0;
    for (; t + kRows <= count; t += kRows) OneVectorRows<kCin, kRows>(d, vx + t * kCin, ux, mx + t * lanes);
    for (; t + 4 <= count; t += 4) OneVectorRows<kCin, 4>(d, vx + t * kCin, ux, mx + t * lanes);
    for (; t < count; ++t) OneVectorRows<kCin, 1>(d, vx + t * kCin, ux, mx + t * lanes);
  }
}

// Whether this target runs step 2 through OneVectorGemms: Cout exactly one vector, Cin
// 16, and registers for 16 + 12 vectors (AVX-512).
bool HasOneVectorGemms(int64_t cin, int64_t cout) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  return cin == 16 && cout == static_cast<int64_t>(hn::Lanes(hn::ScalableTag<float>()));
#else
  (void)cin, (void)cout;
  return false;
#endif
}

void PositionGemmsOneVector(const WinogradGeometry& g, const float* v, const float* u, int64_t count, float* m) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  OneVectorGemms<16>(g, v, u, count, m);
#else
  (void)g, (void)v, (void)u, (void)count, (void)m;
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {

HWY_EXPORT(InputTransform);
HWY_EXPORT(OutputTransform);
HWY_EXPORT(HasOneVectorGemms);
HWY_EXPORT(PositionGemmsOneVector);

// The convolution with an already transformed filter u [36][Cin][Cout].
void winograd_conv(const WindowShape& s, const float* input, const float* u, const float* bias, FusedRelu relu,
                   bool accumulate, const float* residual, float* output, float* scratch) {
  const WinogradGeometry g = winograd_geometry(s);
  if (g.tiles == 0) return;
  simd_internal::Carver carver(scratch);
  const WinogradScratch sc(carver, g);
  simd_internal::GemmArgs a{};
  a.n = g.cout, a.k = g.cin;
  a.a_row_stride = g.cin, a.a_col_stride = 1;
  a.ldb = g.cout, a.ldc = g.cout;
  a.init = simd_internal::GemmInit::kZero;
  const bool one_vector = HWY_DYNAMIC_DISPATCH(HasOneVectorGemms)(g.cin, g.cout);
  const int64_t blocks = (g.tiles + g.block - 1) / g.block;
  const int64_t macs = int64_t{s.input.n} * g.oh * g.ow * g.cout * 9 * g.cin;
  const int64_t tasks = simd_internal::parallel_tasks(macs, std::min<int64_t>(blocks, kMaxThreads));
  parallel_ranges(blocks, tasks, [&](int64_t b0, int64_t b1, int worker) {
    float* v = sc.v[worker];
    float* m = sc.m[worker];
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t tile0 = b * g.block, count = std::min(g.block, g.tiles - tile0);
      HWY_DYNAMIC_DISPATCH(InputTransform)(g, input, tile0, count, v);
      if (one_vector) {
        HWY_DYNAMIC_DISPATCH(PositionGemmsOneVector)(g, v, u, count, m);
      } else {
        simd_internal::GemmArgs t = a;
        t.m = count;
        for (int64_t xi = 0; xi < kPositions; ++xi) {
          t.a = v + xi * g.block * g.cin;
          t.b = u + xi * g.cin * g.cout;
          t.c = m + xi * g.block * g.cout;
          simd_internal::gemm_f32_nn(t);
        }
      }
      HWY_DYNAMIC_DISPATCH(OutputTransform)(g, m, bias, relu, accumulate, residual, tile0, count, output);
    }
  });
}

// The forward shape of backward-input: grad_output convolved into grad_input.
WindowShape backward_input_shape(const WindowShape& s) {
  WindowShape t = s;
  t.input = s.output;
  t.output = s.input;
  t.pad_top = 2 - s.pad_top;
  t.pad_left = 2 - s.pad_left;
  return t;
}

}  // namespace

bool conv2d_winograd_f32_supports(const WindowShape& s) {
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top >= 0 &&
         s.pad_top <= 2 && s.pad_left >= 0 && s.pad_left <= 2 && s.input.c >= 8 && s.output.c >= 8;
}

size_t conv2d_winograd_f32__simd_scratch_size(const WindowShape& s) {
  simd_internal::Carver forward(nullptr), backward(nullptr);
  const WinogradScratch f(forward, winograd_geometry(s));
  const WinogradScratch b(backward, winograd_geometry(backward_input_shape(s)));
  return static_cast<size_t>(std::max(forward.counted(), backward.counted()) + conv2d_winograd_f32_filter_size(s));
}

size_t conv2d_winograd_f32_filter_size(const WindowShape& s) {
  return static_cast<size_t>(kPositions * s.input.c * s.output.c);
}

void conv2d_winograd_transform_filter_f32(const WindowShape& s, const float* filter, WinogradPass pass,
                                          float* transformed) {
  const int64_t cin = s.input.c;
  if (pass == WinogradPass::kForward) {
    transform_filter(winograd_geometry(s), FilterTaps{filter, 9 * cin, 3 * cin, cin, 1}, transformed);
  } else {
    // Transposed filter (o' = input channel, i' = output channel), rotated: tap (ky, kx)
    // reads (2 - ky, 2 - kx).
    const FilterTaps rotated{filter + 8 * cin, 1, -3 * cin, -cin, 9 * cin};
    transform_filter(winograd_geometry(backward_input_shape(s)), rotated, transformed);
  }
}

void conv2d_winograd_forward_transformed_f32__simd(const WindowShape& s, const float* input, const float* transformed,
                                                   const float* bias, float* output, float* scratch, FusedRelu relu,
                                                   const float* residual) {
  winograd_conv(s, input, transformed, bias, relu, /*accumulate=*/false, residual, output, scratch);
}

void conv2d_winograd_backward_input_transformed_f32__simd(const WindowShape& s, const float* grad_output,
                                                          const float* transformed, float* grad_input,
                                                          float* scratch, bool accumulate) {
  winograd_conv(backward_input_shape(s), grad_output, transformed, nullptr, FusedRelu{}, accumulate, nullptr,
                grad_input, scratch);
}

// The one-call forms transform the filter into the end of the scratch first.
void conv2d_winograd_forward_f32__simd(const WindowShape& s, const float* input, const float* filter,
                                       const float* bias, float* output, float* scratch, FusedRelu relu,
                                       const float* residual) {
  float* u = scratch + conv2d_winograd_f32__simd_scratch_size(s) - conv2d_winograd_f32_filter_size(s);
  conv2d_winograd_transform_filter_f32(s, filter, WinogradPass::kForward, u);
  winograd_conv(s, input, u, bias, relu, /*accumulate=*/false, residual, output, scratch);
}

void conv2d_winograd_backward_input_f32__simd(const WindowShape& s, const float* grad_output, const float* filter,
                                              float* grad_input, float* scratch, bool accumulate) {
  float* u = scratch + conv2d_winograd_f32__simd_scratch_size(s) - conv2d_winograd_f32_filter_size(s);
  conv2d_winograd_transform_filter_f32(s, filter, WinogradPass::kBackwardInput, u);
  winograd_conv(backward_input_shape(s), grad_output, u, nullptr, FusedRelu{}, accumulate, nullptr, grad_input,
                scratch);
}

}  // namespace slingshot
#endif  // HWY_ONCE
