// Highway int8 fully connected layer, bit-exact with dense_s8__ref:
//  - Per batch row, the input is widened once to int16 (input + input_offset, which fits
//    int16), so no offset correction is needed.
//  - Four weight rows at a time are widened to int16 in registers and multiplied pairwise
//    with the input (pmaddwd / WASM i32x4.dot_i16x8_s / vpdpwssd), accumulating int32
//    along in_dim; the last in_dim % (2 * lanes) inputs are summed in scalar code, so
//    weight rows are never read past their end. Products and pair sums are exact and
//    int32 sums wrap like the reference's, so the order of the sum does not matter.
//  - The row of int32 sums is then requantized in vectors (int8_common-inl.h).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/dense_s8__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>

#include "kernels/simd/dense_s8__simd.h"
#include "kernels/simd/int8_common-inl.h"

#ifndef SLINGSHOT_DENSE_S8_SIMD_SHARED
#define SLINGSHOT_DENSE_S8_SIMD_SHARED
namespace slingshot {
namespace {

// int16 elements of the widened input row (whole int32 elements).
int64_t input_int16(const DenseShape& s) { return (static_cast<int64_t>(s.in_dim) + 1) / 2 * 2; }

}  // namespace
}  // namespace slingshot
#endif  // SLINGSHOT_DENSE_S8_SIMD_SHARED

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace s8 = simd_s8::HWY_NAMESPACE;

// Output rows per pass: each loaded input vector feeds this many weight rows.
constexpr int kRows = 4;

// sums[o] for o in [o0, o0 + R): dot products of weight rows with x (int16, k values).
template <int R, bool kVnni>
HWY_INLINE void DotRows(const int8_t* weights, int64_t k, int64_t o0, const int16_t* x, int32_t* sums) {
  const hn::ScalableTag<int32_t> d;
  const hn::Repartition<int16_t, decltype(d)> d16;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  using V = hn::Vec<decltype(d)>;
  const int64_t lanes16 = static_cast<int64_t>(hn::Lanes(d16));
  V acc[R];
  for (int r = 0; r < R; ++r) acc[r] = hn::Zero(d);
  const int8_t* w[R];
  for (int r = 0; r < R; ++r) w[r] = weights + (o0 + r) * k;
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR  // one int32 lane holds no int16 pair there: all scalar below
  for (; i + lanes16 <= k; i += lanes16) {
    const V xv = hn::BitCast(d, hn::LoadU(d16, x + i));
    for (int r = 0; r < R; ++r)
      acc[r] = s8::MulPairsAdd<kVnni>(d, acc[r], xv, hn::BitCast(d, hn::PromoteTo(d16, hn::LoadU(d8, w[r] + i))));
  }
#else
  (void)lanes16;
  (void)d8;
#endif
  for (int r = 0; r < R; ++r) {
    auto sum = static_cast<uint32_t>(hn::GetLane(hn::SumOfLanes(d, acc[r])));
    for (int64_t j = i; j < k; ++j) sum += static_cast<uint32_t>(w[r][j] * x[j]);
    sums[o0 + r] = static_cast<int32_t>(sum);
  }
}

template <bool kVnni>
void DenseS8Impl(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                 const int32_t* bias, int8_t* output, int32_t* scratch) {
  const int64_t k = s.in_dim, m = s.out_dim;
  if (s.batch == 0 || m == 0) return;
  const simd_s8::RequantTable table = simd_s8::prepare_requant(q, bias, m, scratch);
  int32_t* sums = scratch + simd_s8::requant_table_size(m);  // padded length, like the table
  int16_t* x = reinterpret_cast<int16_t*>(sums + simd_s8::align_channels(m));
  const hn::ScalableTag<int32_t> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (int64_t b = 0; b < s.batch; ++b) {
    s8::OffsetToInt16(input + b * k, k, q.input_offset, x);
    int64_t o = 0;
    for (; o + kRows <= m; o += kRows) DotRows<kRows, kVnni>(weights, k, o, x, sums);
    for (; o < m; ++o) DotRows<1, kVnni>(weights, k, o, x, sums);
    int8_t* out = output + b * m;
    for (int64_t c = 0; c < m; c += lanes)
      s8::StoreInt8(d, s8::Requantize(d, hn::LoadU(d, sums + c), table, c, q), out + c, std::min(lanes, m - c));
  }
}

void DenseS8(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
             const int32_t* bias, int8_t* output, int32_t* scratch) {
  if (s8::kVnniTarget && int8_simd_vnni_active()) {
    DenseS8Impl<s8::kVnniTarget>(s, q, input, weights, bias, output, scratch);
  } else {
    DenseS8Impl<false>(s, q, input, weights, bias, output, scratch);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(DenseS8);
}  // namespace

int64_t dense_s8__simd_scratch_size(const DenseShape& s) {
  return simd_s8::requant_table_size(s.out_dim) + simd_s8::align_channels(s.out_dim) + input_int16(s) / 2;
}

void dense_s8__simd(const DenseShape& s, const DenseQuantParams& q, const int8_t* input, const int8_t* weights,
                    const int32_t* bias, int8_t* output, int32_t* scratch) {
  HWY_DYNAMIC_DISPATCH(DenseS8)(s, q, input, weights, bias, output, scratch);
}

}  // namespace slingshot
#endif  // HWY_ONCE
