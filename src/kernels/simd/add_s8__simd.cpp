// Highway int8 addition, bit-exact with add_s8__ref: the three requantizations of TFLite's
// int8 ADD (each input to the common scale, then the sum to the output) share one
// multiplier and shift across all lanes, so they use the scalar-count form
// (RequantizeUniform in int8_common-inl.h); the last count % lanes elements go to
// add_s8__ref itself.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/add_s8__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <cstdint>

#include "kernels/ref/add_s8__ref.h"
#include "kernels/simd/add_s8__simd.h"
#include "kernels/simd/int8_common-inl.h"

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
namespace s8 = simd_s8::HWY_NAMESPACE;

void AddS8(int64_t count, const AddQuantParams& q, const int8_t* input1, const int8_t* input2, int8_t* output) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<int32_t> d;
  const hn::Rebind<int8_t, decltype(d)> d8;
  using V = hn::Vec<decltype(d)>;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const V off1 = hn::Set(d, q.input1_offset), off2 = hn::Set(d, q.input2_offset);
  const V out_off = hn::Set(d, q.output_offset);
  const V lo = hn::Set(d, q.activation_min), hi = hn::Set(d, q.activation_max);
  for (; i + lanes <= count; i += lanes) {
    // |input + offset| <= 255: the left shift (20) stays inside int32, as in the reference.
    const V x1 = hn::ShiftLeftSame(hn::Add(hn::PromoteTo(d, hn::LoadU(d8, input1 + i)), off1), q.left_shift);
    const V x2 = hn::ShiftLeftSame(hn::Add(hn::PromoteTo(d, hn::LoadU(d8, input2 + i)), off2), q.left_shift);
    const V a1 = s8::RequantizeUniform(d, x1, q.input1_multiplier, q.input1_shift, q.rounding);
    const V a2 = s8::RequantizeUniform(d, x2, q.input2_multiplier, q.input2_shift, q.rounding);
    const V r = s8::RequantizeUniform(d, hn::Add(a1, a2), q.output_multiplier, q.output_shift, q.rounding);
    hn::StoreU(hn::DemoteTo(d8, hn::Min(hn::Max(hn::Add(r, out_off), lo), hi)), d8, output + i);
  }
#endif
  add_s8__ref(count - i, q, input1 + i, input2 + i, output + i);  // the tail (all of it on the 1-lane target)
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(AddS8);
}  // namespace

void add_s8__simd(int64_t count, const AddQuantParams& q, const int8_t* input1, const int8_t* input2,
                  int8_t* output) {
  HWY_DYNAMIC_DISPATCH(AddS8)(count, q, input1, input2, output);
}

}  // namespace slingshot
#endif  // HWY_ONCE
