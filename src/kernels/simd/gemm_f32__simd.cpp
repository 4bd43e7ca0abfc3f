// Highway float32 GEMM micro-kernels and vector helpers (internal; see gemm_f32__simd.h).
//
// The NN kernel keeps an MR x NV tile of C in registers: per step of the reduced index p
// it loads NV vectors of one B row and broadcasts MR elements of one A column, so each
// loaded B vector feeds MR fused multiply-adds. Tiles never read or write outside the
// given matrices, without masked loads (SSE4 and WASM emulate those with full-width
// accesses): a column tail is covered by placing the last vector so it ends exactly at
// column n, overlapping its neighbour in the same tile. Both copies of an overlapped
// column compute the same sum in the same order, so storing it twice is harmless.
// Widths below one vector use a narrower vector type, down to a single lane.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/gemm_f32__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <utility>

#include "kernels/simd/gemm_f32__simd.h"
#include "kernels/simd/relu_f32-inl.h"

#include "core/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace simd_internal {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// AVX-512 has 32 vector registers; SSE4, AVX2, WASM SIMD128 and the emulated targets 16.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr int kVectorRegs = 32;
#else
constexpr int kVectorRegs = 16;
#endif

// Targets without FMA (WASM SIMD128, SSE4) compute MulAdd as a multiply into a
// temporary plus an add, and V8 keeps a vector register for itself: measured under node,
// 8 accumulators (4 x 2 or 8 x 1) beat the 12 that suit AVX2.
#if HWY_TARGET == HWY_WASM || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3 || HWY_TARGET == HWY_EMU128
constexpr bool kHasFma = false;
#else
constexpr bool kHasFma = true;
#endif

// Widest tile, in vectors of C per row.
constexpr int kMaxNV = kVectorRegs == 32 ? 4 : kHasFma ? 3 : 2;

// Tile rows for a tile NV vectors wide: MR * NV accumulators plus NV B vectors and a
// broadcast must fit the register file, and MR * NV >= 8 hides the FMA latency. Row-major
// A also needs MR row pointers in general registers: on AVX-512, 8 x 1 and 10 x 2 beat
// 12 x 1 and 12 x 2 by 4% over ResNet-8 (bench_conv_kernels, g++ 12 and clang 14).
constexpr int MaxRows(int nv) {
  if (kVectorRegs == 32) return nv == 1 ? 8 : nv == 2 ? 10 : nv == 3 ? 8 : 6;
  if (!kHasFma) return nv == 1 ? 8 : 4;
  return nv == 1 ? 8 : nv == 2 ? 6 : 4;
}

// Register tiles only stay in registers if every loop over their rows and vectors is
// fully unrolled (clang 14 otherwise kept the accumulator array on the stack).
#define SLING_FULL_UNROLL HWY_UNROLL(16)

// How a tile addresses A and B (see GemmArgs).
enum Layout : int {
  kRowMajorA = 0,       // A rows at a + i * a_row_stride or a_rows[i], K possibly segmented
  kColMajorA = 1,       // A(i, p) = a[p * a_col_stride + i]
  kColMajorARowsB = 2,  // as kColMajorA, and B rows at b_rows[p] + b_offset
  kColumnsA = 3         // A(i, p) = a_cols[p][a_offset + i]
};

// One MR x NV tile of C at rows [i0, i0 + rows) and columns starting at j0; the last
// vector starts at j_last (== j0 + (NV-1) * lanes unless it overlaps to end at n).
// With kClamp, rows may be < MR: the extra rows repeat the last valid A row and are not
// stored (used only for narrow C, to limit instantiations). Without it rows == MR.
template <class D, int MR, int NV, int kLayout, bool kClamp>
HWY_NOINLINE void Tile(const GemmArgs& g, int64_t i0, int rows, int64_t j0, int64_t j_last) {
  if constexpr (!kClamp) rows = MR;  // lets the compiler fold every row offset
  using V = hn::Vec<D>;
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t col[NV];
  SLING_FULL_UNROLL
  for (int v = 0; v < NV; ++v) col[v] = v == NV - 1 ? j_last : j0 + v * lanes;

  // Accumulators start at zero and C's initial value is added at the end: a branch-free
  // start lets g++ keep the whole tile in registers (with the init inside, it kept the
  // array on the stack and copied it in and out around the loop).
  V acc[MR][NV];
  SLING_FULL_UNROLL
  for (int r = 0; r < MR; ++r) {
    SLING_FULL_UNROLL
    for (int v = 0; v < NV; ++v) acc[r][v] = hn::Zero(d);
  }

  if constexpr (kLayout != kRowMajorA) {
    // A(i0 + r, p) = a[p * stride + r] (or a_cols[p][a_offset + i0 + r]): one pointer,
    // constant offsets.
    const float* a = kLayout == kColumnsA ? nullptr : g.a + i0;
    const int64_t stride = kLayout == kColumnsA ? 0 : g.a_col_stride;
    const float* b = g.b;
    for (int64_t p = 0; p < g.k; ++p) {
      if constexpr (kLayout == kColMajorARowsB) b = g.b_rows[p] + g.b_offset;
      if constexpr (kLayout == kColumnsA) a = g.a_cols[p] + g.a_offset + i0;
      V bv[NV];
      SLING_FULL_UNROLL
      for (int v = 0; v < NV; ++v) bv[v] = hn::LoadU(d, b + col[v]);
      SLING_FULL_UNROLL
      for (int r = 0; r < MR; ++r) {
        const V av = hn::Set(d, a[std::min(r, rows - 1)]);
        SLING_FULL_UNROLL
        for (int v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(av, bv[v], acc[r][v]);
      }
      a += stride;
      if constexpr (kLayout != kColMajorARowsB) b += g.ldb;
    }
  } else {
    // A(i0 + r, p) = a_r[p] within a K segment: MR row pointers advancing together.
    const float* a[MR];
    SLING_FULL_UNROLL
    for (int r = 0; r < MR; ++r) {
      const int64_t i = i0 + std::min(r, rows - 1);
      a[r] = g.a_rows ? g.a_rows[i] : g.a + i * g.a_row_stride;
    }
    const int64_t seg = g.k_segment > 0 ? g.k_segment : g.k;
    const float* b = g.b;
    for (int64_t p0 = 0; p0 < g.k; p0 += seg) {
      for (int64_t q = 0; q < seg; ++q) {
        V bv[NV];
        SLING_FULL_UNROLL
        for (int v = 0; v < NV; ++v) bv[v] = hn::LoadU(d, b + col[v]);
        SLING_FULL_UNROLL
        for (int r = 0; r < MR; ++r) {
          const V av = hn::Set(d, a[r][q]);
          SLING_FULL_UNROLL
          for (int v = 0; v < NV; ++v) acc[r][v] = hn::MulAdd(av, bv[v], acc[r][v]);
        }
        b += g.ldb;
      }
      SLING_FULL_UNROLL
      for (int r = 0; r < MR; ++r) a[r] += g.a_segment_stride;
    }
  }

  if (g.init == GemmInit::kRowVector) {
    SLING_FULL_UNROLL
    for (int v = 0; v < NV; ++v) {
      const V row = hn::LoadU(d, g.row + col[v]);
      SLING_FULL_UNROLL
      for (int r = 0; r < MR; ++r) acc[r][v] = hn::Add(acc[r][v], row);
    }
  }
  // All of a row's loads precede its stores, so overlapping vectors add C only once.
  const bool relu = g.relu.enabled;
  const V upper = hn::Set(d, g.relu.upper);
  SLING_FULL_UNROLL
  for (int r = 0; r < MR; ++r) {
    if (r >= rows) break;
    float* c = g.c + (i0 + r) * g.ldc;
    if (g.init == GemmInit::kAccumulate) {
      SLING_FULL_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = hn::Add(acc[r][v], hn::LoadU(d, c + col[v]));
    }
    if (g.addend) {
      const float* e = g.addend + (i0 + r) * g.ldc;
      SLING_FULL_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = hn::Add(acc[r][v], hn::LoadU(d, e + col[v]));
    }
    if (relu) {
      SLING_FULL_UNROLL
      for (int v = 0; v < NV; ++v) acc[r][v] = slingshot::HWY_NAMESPACE::ReluClamp(acc[r][v], upper);
    }
    SLING_FULL_UNROLL
    for (int v = 0; v < NV; ++v) hn::StoreU(acc[r][v], d, c + col[v]);
  }
}

using TileFn = void (*)(const GemmArgs&, int64_t, int, int64_t, int64_t);

// Tiles of exactly 1..MaxRows(NV) rows, so row tails do no wasted work.
template <class D, int NV, int kLayout, size_t... R>
constexpr std::array<TileFn, sizeof...(R)> RowTiles(std::index_sequence<R...>) {
  return {&Tile<D, static_cast<int>(R) + 1, NV, kLayout, false>...};
}

// All row blocks of one panel of NV vectors.
template <class D, int NV, int kLayout, bool kClamp>
void RunPanel(const GemmArgs& g, int64_t j0, int64_t j_last) {
  constexpr int mr = MaxRows(NV);
  for (int64_t i0 = 0; i0 < g.m; i0 += mr) {
    const int rows = static_cast<int>(std::min<int64_t>(mr, g.m - i0));
    if constexpr (kClamp) {
      Tile<D, mr, NV, kLayout, true>(g, i0, rows, j0, j_last);
    } else {
      static constexpr auto kTiles = RowTiles<D, NV, kLayout>(std::make_index_sequence<mr>());
      kTiles[rows - 1](g, i0, rows, j0, j_last);
    }
  }
}

// Narrow C (n < one full vector): one panel of one or two overlapping vectors of the
// widest power-of-two width <= n. Only full-height tiles are instantiated here.
template <size_t kLanes, int kLayout>
void NarrowGemm(const GemmArgs& g) {
  if constexpr (kLanes > 1) {
    if (g.n < static_cast<int64_t>(kLanes)) return NarrowGemm<kLanes / 2, kLayout>(g);
  }
  using D = hn::CappedTag<float, kLanes>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(D()));
  if (g.n == lanes)
    RunPanel<D, 1, kLayout, true>(g, 0, 0);
  else
    RunPanel<D, 2, kLayout, true>(g, 0, g.n - lanes);
}

template <int kLayout>
void GemmNNImpl(const GemmArgs& g) {
  using D = hn::ScalableTag<float>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(D()));
  if (g.m <= 0 || g.n <= 0) return;
  if (g.n < lanes) {
    if constexpr (HWY_LANES(float) > 1) NarrowGemm<HWY_LANES(float) / 2, kLayout>(g);
    return;
  }
  // Split the ceil(n / lanes) vector columns into balanced panels of <= kMaxNV vectors.
  // A partial last vector overlaps its left neighbour, which must be in the same tile
  // (a tile reads all its C before writing, another panel would have written it
  // already), so the last panel is kept at >= 2 vectors when there is a partial tail.
  const bool partial_tail = g.n % lanes != 0;
  int64_t remaining = (g.n + lanes - 1) / lanes;
  int64_t j0 = 0;
  while (remaining > 0) {
    const int64_t panels = (remaining + kMaxNV - 1) / kMaxNV;
    int nv = static_cast<int>((remaining + panels - 1) / panels);
    if (partial_tail && remaining - nv == 1 && nv > 1) --nv;
    remaining -= nv;
    const int64_t j_last = remaining == 0 ? g.n - lanes : j0 + (nv - 1) * lanes;
    if (nv == 1) RunPanel<D, 1, kLayout, false>(g, j0, j_last);
    if (nv == 2) RunPanel<D, 2, kLayout, false>(g, j0, j_last);
    if constexpr (kMaxNV >= 3) {
      if (nv == 3) RunPanel<D, 3, kLayout, false>(g, j0, j_last);
    }
    if constexpr (kMaxNV >= 4) {
      if (nv == 4) RunPanel<D, 4, kLayout, false>(g, j0, j_last);
    }
    j0 += nv * lanes;
  }
}

void GemmNN(const GemmArgs& g) {
  if (g.a_cols)
    GemmNNImpl<kColumnsA>(g);
  else if (g.b_rows)
    GemmNNImpl<kColMajorARowsB>(g);
  else if (g.a_rows || g.a_col_stride == 1)
    GemmNNImpl<kRowMajorA>(g);
  else
    GemmNNImpl<kColMajorA>(g);
}

// Dot products of rows of A with rows of Bt, four columns at a time. The tail of p is
// covered by a last vector ending exactly at k whose already-counted lanes are zeroed.
void GemmNT(const GemmArgs& g) {
  using D = hn::ScalableTag<float>;
  const D d;
  using V = hn::Vec<D>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t k = g.k;
  const int64_t k_main = k >= lanes ? (k / lanes) * lanes : 0;
  // Lanes of the overlapping tail vector at k - lanes that are new (not yet counted).
  const auto fresh = hn::Not(hn::FirstN(d, static_cast<size_t>(k_main + lanes - k)));
  const bool has_tail = k_main != k && k >= lanes;
  auto finish = [&](V acc, const float* a, const float* b, int64_t i, int64_t j) {
    float s = hn::GetLane(hn::SumOfLanes(d, acc));
    if (k < lanes)
      for (int64_t p = 0; p < k; ++p) s += a[p] * b[p];
    float* c = g.c + i * g.ldc + j;
    const float base = g.init == GemmInit::kAccumulate ? *c : g.init == GemmInit::kRowVector ? g.row[j] : 0.0f;
    *c = base + s;
  };
  for (int64_t i = 0; i < g.m; ++i) {
    const float* a = g.a + i * g.a_row_stride;
    int64_t j = 0;
    for (; j + 4 <= g.n; j += 4) {
      const float* b0 = g.b + j * g.ldb;
      const float* b1 = b0 + g.ldb;
      const float* b2 = b1 + g.ldb;
      const float* b3 = b2 + g.ldb;
      V s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
      for (int64_t p = 0; p < k_main; p += lanes) {
        const V av = hn::LoadU(d, a + p);
        s0 = hn::MulAdd(av, hn::LoadU(d, b0 + p), s0);
        s1 = hn::MulAdd(av, hn::LoadU(d, b1 + p), s1);
        s2 = hn::MulAdd(av, hn::LoadU(d, b2 + p), s2);
        s3 = hn::MulAdd(av, hn::LoadU(d, b3 + p), s3);
      }
      if (has_tail) {
        const int64_t p = k - lanes;
        const V av = hn::IfThenElseZero(fresh, hn::LoadU(d, a + p));
        s0 = hn::MulAdd(av, hn::LoadU(d, b0 + p), s0);
        s1 = hn::MulAdd(av, hn::LoadU(d, b1 + p), s1);
        s2 = hn::MulAdd(av, hn::LoadU(d, b2 + p), s2);
        s3 = hn::MulAdd(av, hn::LoadU(d, b3 + p), s3);
      }
      finish(s0, a, b0, i, j);
      finish(s1, a, b1, i, j + 1);
      finish(s2, a, b2, i, j + 2);
      finish(s3, a, b3, i, j + 3);
    }
    for (; j < g.n; ++j) {
      const float* b0 = g.b + j * g.ldb;
      V s0 = hn::Zero(d);
      for (int64_t p = 0; p < k_main; p += lanes) s0 = hn::MulAdd(hn::LoadU(d, a + p), hn::LoadU(d, b0 + p), s0);
      if (has_tail) {
        const int64_t p = k - lanes;
        s0 = hn::MulAdd(hn::IfThenElseZero(fresh, hn::LoadU(d, a + p)), hn::LoadU(d, b0 + p), s0);
      }
      finish(s0, a, b0, i, j);
    }
  }
}

void ColumnSums(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out, bool accumulate) {
  using D = hn::ScalableTag<float>;
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t j = 0;
  for (; j + 2 * lanes <= cols; j += 2 * lanes) {
    auto s0 = accumulate ? hn::LoadU(d, out + j) : hn::Zero(d);
    auto s1 = accumulate ? hn::LoadU(d, out + j + lanes) : hn::Zero(d);
    for (int64_t r = 0; r < rows; ++r) {
      s0 = hn::Add(s0, hn::LoadU(d, x + r * ld + j));
      s1 = hn::Add(s1, hn::LoadU(d, x + r * ld + j + lanes));
    }
    hn::StoreU(s0, d, out + j);
    hn::StoreU(s1, d, out + j + lanes);
  }
  for (; j + lanes <= cols; j += lanes) {
    auto s0 = accumulate ? hn::LoadU(d, out + j) : hn::Zero(d);
    for (int64_t r = 0; r < rows; ++r) s0 = hn::Add(s0, hn::LoadU(d, x + r * ld + j));
    hn::StoreU(s0, d, out + j);
  }
  for (; j < cols; ++j) {
    float s = accumulate ? out[j] : 0.0f;
    for (int64_t r = 0; r < rows; ++r) s += x[r * ld + j];
    out[j] = s;
  }
}

void AddTo(float* dst, const float* src, int64_t n) {
  using D = hn::ScalableTag<float>;
  const D d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Add(hn::LoadU(d, dst + i), hn::LoadU(d, src + i)), d, dst + i);
  for (; i < n; ++i) dst[i] += src[i];
}

int64_t TargetId() { return HWY_TARGET; }

}  // namespace HWY_NAMESPACE
}  // namespace simd_internal
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace simd_internal {

HWY_EXPORT(GemmNN);
HWY_EXPORT(GemmNT);
HWY_EXPORT(ColumnSums);
HWY_EXPORT(AddTo);
HWY_EXPORT(TargetId);

void gemm_f32_nn(const GemmArgs& g) { HWY_DYNAMIC_DISPATCH(GemmNN)(g); }
void gemm_f32_nt(const GemmArgs& g) { HWY_DYNAMIC_DISPATCH(GemmNT)(g); }

GemmArgs gemm_rows(const GemmArgs& g, int64_t i0, int64_t m) {
  GemmArgs r = g;
  r.m = m;
  r.c = g.c + i0 * g.ldc;
  if (g.addend) r.addend = g.addend + i0 * g.ldc;
  if (g.a_cols)
    r.a_offset += i0;
  else if (g.a_rows)
    r.a_rows += i0;
  else
    r.a = g.a + i0 * g.a_row_stride;  // row-major or stored transposed (a_row_stride == 1)
  return r;
}

int64_t parallel_tasks(int64_t macs, int64_t max_tasks) {
  if (macs < kMinParallelMacs) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), max_tasks));
}

namespace {

// About two row blocks per thread, so a thread slowed by another process does not hold
// up the rest; blocks are whole multiples of 8 rows, so most tiles are full.
template <void (*kGemm)(const GemmArgs&)>
void gemm_parallel(const GemmArgs& g) {
  constexpr int64_t kRowAlign = 8;
  const int64_t threads = parallel_tasks(g.m * g.n * g.k, g.m / kRowAlign);
  const int64_t blocks = std::min(2 * threads, g.m / kRowAlign);
  if (threads == 1 || blocks <= 1) return kGemm(g);
  const int64_t block = ((g.m + blocks - 1) / blocks + kRowAlign - 1) / kRowAlign * kRowAlign;
  parallel_for((g.m + block - 1) / block, [&](int64_t t, int) {
    kGemm(gemm_rows(g, t * block, std::min(block, g.m - t * block)));
  });
}

}  // namespace

void gemm_f32_nn_parallel(const GemmArgs& g) { gemm_parallel<gemm_f32_nn>(g); }
void gemm_f32_nt_parallel(const GemmArgs& g) { gemm_parallel<gemm_f32_nt>(g); }
void column_sums_f32(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out, bool accumulate) {
  HWY_DYNAMIC_DISPATCH(ColumnSums)(x, rows, cols, ld, out, accumulate);
}
void add_to_f32(float* dst, const float* src, int64_t n) { HWY_DYNAMIC_DISPATCH(AddTo)(dst, src, n); }
const char* simd_f32_target_name() { return hwy::TargetName(HWY_DYNAMIC_DISPATCH(TargetId)()); }

}  // namespace simd_internal
}  // namespace slingshot
#endif  // HWY_ONCE
