// Internal helpers shared by the Highway int8 kernels (conv2d_s8__simd,
// depthwise_conv2d_s8__simd, dense_s8__simd): widening the offset input to int16, the
// int16 pair multiply-accumulate, and vectorized requantization, i.e. quant/fixed_point.h's
// multiply_by_quantized_multiplier in both rounding modes, plus output offset and
// activation clamp, bit for bit, on a vector of int32 accumulators with per-lane
// (per-channel) parameters. Internal; a Highway "-inl" header, included once per target
// by each kernel's .cpp after foreach_target.h.
//
// Per-channel parameters are prepared once per kernel call into int32 arrays
// (prepare_requant, scalar, target independent) so a tile only loads vectors; the arrays
// are padded to whole vectors so loads never run past them.
//
// The arithmetic, with P = x * multiplier exact in int64 (|P| < 2^62):
//   double rounding: xs = x << left (wrapping, done as a multiply by 2^left);
//     t = floor((xs * m + 2^30) / 2^31)  (SaturatingRoundingDoublingHighMul: the
//     multiplier is >= 0, so its single saturating case INT32_MIN * INT32_MIN never
//     occurs, and both of its nudges reduce to this one floor; t fits int32), from
//     32x32->64-bit products of even and odd lanes;
//     r = rounding_divide_by_pot(t, e): with per-lane shifts where they are single
//     instructions (AVX2, AVX-512), else (WASM, SSE4 emulate them in many steps) as
//     floor(((t - [t < 0]) * 2^(31-e) + 2^30) / 2^31) for e > 0, the same multiply and
//     constant shifts as above, and t itself for e == 0.
//   single rounding: r = saturate_int32(floor((P + 2^(T-1)) / 2^T)), T = 31 - shift, as
//     floor((floor(P / 2^(T-1)) + 1) / 2) with 64-bit per-lane shifts (WASM has none:
//     there it is scalar, lane by lane).
// Then out = clamp(r + output_offset, act_min, act_max) with a wrapping int32 add, as the
// reference's int32 arithmetic does.

// Target-independent part, compiled once.
#ifndef SLINGSHOT_KERNELS_SIMD_INT8_COMMON_SHARED_H_
#define SLINGSHOT_KERNELS_SIMD_INT8_COMMON_SHARED_H_

#include <cstdint>

#include "kernels/quant_params.h"

#include "kernels/simd/int8_simd_vnni.h"

namespace slingshot::simd_s8 {

// Channels are padded to a multiple of this (the widest vector: 16 int32 on AVX-512).
constexpr int64_t kChannelAlign = 16;

inline int64_t align_channels(int64_t c, int64_t align = kChannelAlign) { return (c + align - 1) / align * align; }

// Number of prepared per-channel arrays (see RequantTable).
constexpr int64_t kRequantArrays = 9;

// int32 elements of the prepared parameter arrays for `channels` channels.
inline int64_t requant_table_size(int64_t channels) { return kRequantArrays * align_channels(channels); }

// Prepared per-channel requantization parameters: int32 arrays of padded length, laid out
// one after the other in this order (so reading one element past `mul` stays inside).
struct RequantTable {
  const int32_t* bias;   // bias, or 0 (padding channels: 0)
  const int32_t* mul;    // Q31 multiplier
  const int32_t* shift;  // the caller's shift (for the scalar paths)
  const int32_t* a;      // double: 2^max(shift, 0); single: T - 1 = 30 - shift
  const int32_t* b;      // double: 2^(31 - e) with e = max(-shift, 0), or 0 when e == 0
  const int32_t* c;      // double: -1 when e == 0, else 0 (selects t)
  const int32_t* e;      // double: right shift e
  const int32_t* mask;   // double: 2^e - 1
  const int32_t* half;   // double: (2^e - 1) >> 1
};

// Fills `table` (requant_table_size(channels) int32) from the caller's parameters.
inline RequantTable prepare_requant(const ConvQuantParams& q, const int32_t* bias, int64_t channels,
                                    int32_t* table) {
  const int64_t cp = align_channels(channels);
  int32_t* arr[kRequantArrays];
  for (int64_t i = 0; i < kRequantArrays; ++i) arr[i] = table + i * cp;
  for (int64_t o = 0; o < cp; ++o) {
    const bool real = o < channels;
    const int64_t ch = q.per_channel && real ? o : 0;
    const int32_t shift = channels > 0 ? q.output_shift[ch] : 0;
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t e = shift > 0 ? 0 : -shift;
    const bool dbl = q.rounding == RoundingMode::kDouble;
    const auto mask = static_cast<int32_t>((uint32_t{1} << e) - 1);  // e <= 31
    arr[0][o] = bias && real ? bias[o] : 0;
    arr[1][o] = channels > 0 ? q.output_multiplier[ch] : 0;
    arr[2][o] = shift;
    arr[3][o] = dbl ? static_cast<int32_t>(uint32_t{1} << left) : 30 - shift;
    arr[4][o] = e > 0 ? static_cast<int32_t>(uint32_t{1} << (31 - e)) : 0;
    arr[5][o] = e == 0 ? -1 : 0;
    arr[6][o] = e;
    arr[7][o] = mask;
    arr[8][o] = mask >> 1;
  }
  return RequantTable{arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], arr[6], arr[7], arr[8]};
}

}  // namespace slingshot::simd_s8

#endif  // SLINGSHOT_KERNELS_SIMD_INT8_COMMON_SHARED_H_

// Per-target part: Highway's include-guard toggle lets foreach_target compile it once per target.
#if defined(SLINGSHOT_KERNELS_SIMD_INT8_COMMON_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLINGSHOT_KERNELS_SIMD_INT8_COMMON_INL_H_
#undef SLINGSHOT_KERNELS_SIMD_INT8_COMMON_INL_H_
#else
#define SLINGSHOT_KERNELS_SIMD_INT8_COMMON_INL_H_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace slingshot::simd_s8 {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Whether this target can run the AVX512-VNNI path (when int8_simd_vnni_active()).
#if HWY_ARCH_X86 && HWY_TARGET == HWY_AVX3
constexpr bool kVnniTarget = true;
#else
constexpr bool kVnniTarget = false;
#endif

// acc + x.lo * w.lo + x.hi * w.hi per int32 lane, with lo/hi the two int16 halves of
// each lane (pmaddwd + add, WASM i32x4.dot_i16x8_s + add; with kVnni one vpdpwssd).
template <bool kVnni = false, class D>
HWY_INLINE hn::Vec<D> MulPairsAdd(D d, hn::Vec<D> acc, hn::Vec<D> x, hn::Vec<D> w) {
#if HWY_TARGET == HWY_SCALAR
  (void)d;
  const int32_t xv = hn::GetLane(x), wv = hn::GetLane(w);
  const auto lo = [](int32_t v) { return static_cast<int32_t>(static_cast<int16_t>(v & 0xFFFF)); };
  const auto hi = [](int32_t v) { return static_cast<int32_t>(static_cast<int16_t>(static_cast<uint32_t>(v) >> 16)); };
  return hn::Set(d, hn::GetLane(acc) + lo(xv) * lo(wv) + hi(xv) * hi(wv));
#else
#if HWY_ARCH_X86 && HWY_TARGET == HWY_AVX3
  // Inline assembly: the target's compiler flags do not include AVX512-VNNI (see
  // int8_simd_vnni.h), so the intrinsic would not compile.
  if constexpr (kVnni && sizeof(hn::Vec<D>) == 64) {
    __m512i r = acc.raw;
    asm("vpdpwssd %2, %1, %0" : "+v"(r) : "v"(x.raw), "v"(w.raw));
    return hn::Vec<D>{r};
  }
#endif
#if (HWY_ARCH_X86 && HWY_TARGET != HWY_EMU128) || HWY_TARGET == HWY_WASM
  // Here ReorderWidenMulAccumulate is one pmaddwd / i32x4.dot_i16x8_s plus an add and
  // leaves its second accumulator untouched.
  const hn::Repartition<int16_t, D> d16;
  hn::Vec<D> unused = hn::Zero(d);
  return hn::ReorderWidenMulAccumulate(d, hn::BitCast(d16, x), hn::BitCast(d16, w), acc, unused);
#else
  // Elsewhere (EMU128, ...) it may split the sum across both accumulators: pair explicitly.
  (void)d;
  const auto lo = [](hn::Vec<D> v) { return hn::ShiftRight<16>(hn::ShiftLeft<16>(v)); };
  const auto hi = [](hn::Vec<D> v) { return hn::ShiftRight<16>(v); };
  return hn::Add(acc, hn::Add(hn::Mul(lo(x), lo(w)), hn::Mul(hi(x), hi(w))));
#endif
#endif
}

#if HWY_ARCH_X86 && HWY_TARGET == HWY_AVX3
// acc + sum of the four products x_u8[j] * w_s8[j] per int32 lane (bytes of x unsigned,
// of w signed): one AVX512-VNNI vpdpbusd (non-saturating). Only with int8_simd_vnni_active().
template <class D>
HWY_INLINE hn::Vec<D> MulQuadsAddVnni(D /*d*/, hn::Vec<D> acc, hn::Vec<D> x_u8, hn::Vec<D> w_s8) {
  static_assert(sizeof(hn::Vec<D>) == 64, "full AVX-512 vectors only");
  __m512i r = acc.raw;
  asm("vpdpbusd %2, %1, %0" : "+v"(r) : "v"(x_u8.raw), "v"(w_s8.raw));
  return hn::Vec<D>{r};
}
#endif

// Scalar requantization, offset and clamp of one accumulator of channel c: the reference
// arithmetic itself, for tails and the 1-lane target.
inline int8_t RequantizeScalar(int32_t acc, const RequantTable& t, int64_t c, const ConvQuantParams& q) {
  const int32_t r = multiply_by_quantized_multiplier(acc, t.mul[c], t.shift[c], q.rounding);
  const auto sum = static_cast<int32_t>(static_cast<uint32_t>(r) + static_cast<uint32_t>(q.output_offset));
  return static_cast<int8_t>(clamp_to_range(sum, q.activation_min, q.activation_max));
}

#if HWY_TARGET != HWY_SCALAR
// floor((v + 2^30) / 2^31) of the int64 products of even lanes (pe) and odd lanes (po),
// each known to fit int32, gathered back into one int32 vector. Only the low half of a
// 64-bit shift result is kept, so logical shifts suffice (native on every target).
template <class D>
HWY_INLINE hn::Vec<D> HighMul31(D d, hn::Vec<hn::RepartitionToWide<D>> pe, hn::Vec<hn::RepartitionToWide<D>> po) {
  const hn::RepartitionToWide<D> d64;
  const hn::RebindToUnsigned<decltype(d64)> du64;
  const auto half = hn::Set(d64, int64_t{1} << 30);
  const auto even = hn::ShiftRight<31>(hn::BitCast(du64, hn::Add(pe, half)));  // t in the low half
  const auto odd = hn::ShiftLeft<1>(hn::BitCast(du64, hn::Add(po, half)));     // t in the high half
  return hn::OddEven(hn::BitCast(d, odd), hn::BitCast(d, even));
}

// Even and odd lanes' 32x32 -> 64-bit signed products of a and b; b_odd holds b's odd
// lanes in its even lanes (a load one element further on does that without a shuffle).
template <class D>
HWY_INLINE void MulEvenOdd(D d, hn::Vec<D> a, hn::Vec<D> b, hn::Vec<D> b_odd, hn::Vec<hn::RepartitionToWide<D>>& pe,
                           hn::Vec<hn::RepartitionToWide<D>>& po) {
#if HWY_TARGET == HWY_WASM
  // Highway 1.0.3's signed MulEven on WASM zero-extends its inputs (wrong for negative
  // lanes); i64x2.extmul sign-extends. One shuffle per input serves both halves.
  if constexpr (hn::MaxLanes(D()) == 4) {
    (void)b_odd;
    const v128_t a2 = wasm_i32x4_shuffle(a.raw, a.raw, 0, 2, 1, 3);
    const v128_t b2 = wasm_i32x4_shuffle(b.raw, b.raw, 0, 2, 1, 3);
    pe = hn::Vec<hn::RepartitionToWide<D>>{wasm_i64x2_extmul_low_i32x4(a2, b2)};
    po = hn::Vec<hn::RepartitionToWide<D>>{wasm_i64x2_extmul_high_i32x4(a2, b2)};
    return;
  }
#endif
  const hn::RebindToUnsigned<hn::RepartitionToWide<D>> du64;
  pe = hn::MulEven(a, b);
  po = hn::MulEven(hn::BitCast(d, hn::ShiftRight<32>(hn::BitCast(du64, a))), b_odd);
}

// Per-lane variable shifts are single instructions from AVX2 on; WASM and SSE4 emulate
// them with several steps, so there the rounding division multiplies instead.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
constexpr bool kFastVariableShift = true;
#else
constexpr bool kFastVariableShift = false;
#endif
#endif

// int8 outputs of the accumulators `acc` of channels [c, c + Lanes(d)) (bias not yet
// added), as int32 lanes in [-128, 127]: bias, requantization, output offset (a wrapping
// add, as the reference's int32 arithmetic) and activation clamp.
template <class D>
HWY_INLINE hn::Vec<D> Requantize(D d, hn::Vec<D> acc, const RequantTable& t, int64_t c, const ConvQuantParams& q) {
#if HWY_TARGET == HWY_SCALAR
  return hn::Set(d, RequantizeScalar(static_cast<int32_t>(static_cast<uint32_t>(hn::GetLane(acc)) +
                                                          static_cast<uint32_t>(t.bias[c])),
                                     t, c, q));
#else
  using V = hn::Vec<D>;
  using V64 = hn::Vec<hn::RepartitionToWide<D>>;
  const hn::RebindToUnsigned<D> du;
  const auto wrap_add = [&](V a, V b) { return hn::BitCast(d, hn::Add(hn::BitCast(du, a), hn::BitCast(du, b))); };
  acc = wrap_add(acc, hn::LoadU(d, t.bias + c));
  const V mul = hn::LoadU(d, t.mul + c);
  const V mul_odd = hn::LoadU(d, t.mul + c + 1);
  const V a = hn::LoadU(d, t.a + c);
  V64 pe, po;
  V r;
  if (q.rounding == RoundingMode::kDouble) {
    const V xs = hn::BitCast(d, hn::Mul(hn::BitCast(du, acc), hn::BitCast(du, a)));  // x << left, wrapping
    MulEvenOdd(d, xs, mul, mul_odd, pe, po);
    const V high = HighMul31(d, pe, po);
    if constexpr (kFastVariableShift) {
      // rounding_divide_by_pot as the reference writes it: (t >> e) + (remainder > threshold).
      const V threshold = hn::Sub(hn::LoadU(d, t.half + c), hn::ShiftRight<31>(high));
      const V remainder = hn::And(high, hn::LoadU(d, t.mask + c));
      r = hn::Sub(high >> hn::LoadU(d, t.e + c),
                  hn::VecFromMask(d, hn::Gt(remainder, threshold)));
    } else {
      const V u = hn::Add(high, hn::ShiftRight<31>(high));  // t - [t < 0]
      MulEvenOdd(d, u, hn::LoadU(d, t.b + c), hn::LoadU(d, t.b + c + 1), pe, po);
      r = hn::IfThenElse(hn::MaskFromVec(hn::LoadU(d, t.c + c)), high, HighMul31(d, pe, po));
    }
  } else {
#if HWY_TARGET == HWY_WASM
    // WASM SIMD128 has no 64-bit variable shift (Highway 1.0.3 offers none there either):
    // single rounding, the non-default mode, goes lane by lane in scalar int64.
    (void)pe, (void)po, (void)a, (void)mul_odd;
    HWY_ALIGN int32_t lanes[hn::MaxLanes(d)];
    hn::Store(acc, d, lanes);
    for (size_t i = 0; i < hn::Lanes(d); ++i)
      lanes[i] = multiply_by_quantized_multiplier(lanes[i], t.mul[c + static_cast<int64_t>(i)],
                                                  t.shift[c + static_cast<int64_t>(i)], RoundingMode::kSingle);
    r = hn::Load(d, lanes);
#else
    const hn::RepartitionToWide<D> d64;
    const hn::RebindToUnsigned<decltype(d64)> du64;
    MulEvenOdd(d, acc, mul, mul_odd, pe, po);
    // Shift counts T - 1 in [0, 61] as int64 lanes: even lanes masked, odd lanes shifted down.
    const auto a64 = hn::BitCast(du64, a);
    const V64 se = hn::BitCast(d64, hn::And(a64, hn::Set(du64, 0xFFFFFFFFull)));
    const V64 so = hn::BitCast(d64, hn::ShiftRight<32>(a64));
    const V64 one = hn::Set(d64, 1);
    const V64 lo = hn::Set(d64, INT32_MIN), hi = hn::Set(d64, INT32_MAX);
    const V64 re = hn::Min(hn::Max(hn::ShiftRight<1>(hn::Add(pe >> se, one)), lo), hi);
    const V64 ro = hn::Min(hn::Max(hn::ShiftRight<1>(hn::Add(po >> so, one)), lo), hi);
    r = hn::OddEven(hn::BitCast(d, hn::ShiftLeft<32>(ro)), hn::BitCast(d, re));
#endif
  }
  const V sum = wrap_add(r, hn::Set(d, q.output_offset));
  return hn::Min(hn::Max(sum, hn::Set(d, q.activation_min)), hn::Set(d, q.activation_max));
#endif
}

#if HWY_TARGET != HWY_SCALAR
// Arithmetic right shift of int64 lanes by one count (WASM: Highway 1.0.3 lacks it).
template <class V64>
HWY_INLINE V64 ShiftRightSame64(V64 v, int bits) {
#if HWY_TARGET == HWY_WASM
  return V64{wasm_i64x2_shr(v.raw, static_cast<uint32_t>(bits))};
#else
  return hn::ShiftRightSame(v, bits);
#endif
}

// multiply_by_quantized_multiplier(x, multiplier, shift, mode) per lane with one
// multiplier and shift for all lanes, so every shift takes a scalar count (a single
// instruction on every target). Same arithmetic as Requantize.
template <class D>
HWY_INLINE hn::Vec<D> RequantizeUniform(D d, hn::Vec<D> x, int32_t multiplier, int32_t shift, RoundingMode mode) {
  using V = hn::Vec<D>;
  using V64 = hn::Vec<hn::RepartitionToWide<D>>;
  const hn::RepartitionToWide<D> d64;
  const V m = hn::Set(d, multiplier);
  V64 pe, po;
  if (mode == RoundingMode::kDouble) {
    const int left = shift > 0 ? shift : 0, e = shift > 0 ? 0 : -shift;
    const hn::RebindToUnsigned<D> du;
    MulEvenOdd(d, hn::BitCast(d, hn::ShiftLeftSame(hn::BitCast(du, x), left)), m, m, pe, po);
    const V t = HighMul31(d, pe, po);
    if (e == 0) return t;
    const auto mask = static_cast<int32_t>((uint32_t{1} << e) - 1);
    const V threshold = hn::Sub(hn::Set(d, mask >> 1), hn::ShiftRight<31>(t));
    const V remainder = hn::And(t, hn::Set(d, mask));
    return hn::Sub(hn::ShiftRightSame(t, e), hn::VecFromMask(d, hn::Gt(remainder, threshold)));
  }
  MulEvenOdd(d, x, m, m, pe, po);
  const V64 one = hn::Set(d64, 1);
  const V64 lo = hn::Set(d64, INT32_MIN), hi = hn::Set(d64, INT32_MAX);
  const V64 re = hn::Min(hn::Max(hn::ShiftRight<1>(hn::Add(ShiftRightSame64(pe, 30 - shift), one)), lo), hi);
  const V64 ro = hn::Min(hn::Max(hn::ShiftRight<1>(hn::Add(ShiftRightSame64(po, 30 - shift), one)), lo), hi);
  return hn::OddEven(hn::BitCast(d, hn::ShiftLeft<32>(ro)), hn::BitCast(d, re));
}
#endif

// dst[0, n) = src[0, n) + offset as int16 (|x + offset| fits int16 for the offsets the
// kernels accept): whole vectors, then halved vectors down to 128 bits for short runs
// (a strided 1x1 conv converts one pixel of Cin values at a time), then scalars.
template <size_t kLanes = HWY_LANES(int16_t)>
HWY_INLINE void OffsetToInt16(const int8_t* src, int64_t n, int32_t offset, int16_t* dst) {
  const hn::CappedTag<int16_t, kLanes> d16;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d16));
  const auto off = hn::Set(d16, static_cast<int16_t>(offset));
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::Add(hn::PromoteTo(d16, hn::LoadU(d8, src + i)), off), d16, dst + i);
  if constexpr (kLanes > 8) {
    if (i < n) OffsetToInt16<kLanes / 2>(src + i, n - i, offset, dst + i);
  } else {
    for (; i < n; ++i) dst[i] = static_cast<int16_t>(src[i] + offset);
  }
}

// Stores the low byte of each lane of v (values in [-128, 127]) to out[0, n), n <= Lanes(d).
template <class D>
HWY_INLINE void StoreInt8(D d, hn::Vec<D> v, int8_t* out, int64_t n) {
  const hn::Rebind<int8_t, D> d8;
  const auto bytes = hn::DemoteTo(d8, v);
  if (n == static_cast<int64_t>(hn::Lanes(d))) {
    hn::StoreU(bytes, d8, out);
  } else {
    HWY_ALIGN int8_t buf[hn::MaxLanes(d8)];
    hn::Store(bytes, d8, buf);
    for (int64_t i = 0; i < n; ++i) out[i] = buf[i];
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot::simd_s8
HWY_AFTER_NAMESPACE();

#endif  // per-target include guard
