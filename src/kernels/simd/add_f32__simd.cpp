// Highway float addition on whole vectors, the reference on the tail.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/add_f32__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <cstdint>

#include "kernels/ref/add__ref.h"
#include "kernels/simd/add_f32__simd.h"

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AddF32(int64_t count, const float* a, const float* b, float* y) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  for (; i + lanes <= count; i += lanes) hn::StoreU(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
#endif
  add__ref<float>(count - i, a + i, b + i, y + i);
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(AddF32);
}  // namespace

void add_f32__simd(int64_t count, const float* a, const float* b, float* y) {
  HWY_DYNAMIC_DISPATCH(AddF32)(count, a, b, y);
}

}  // namespace slingshot
#endif  // HWY_ONCE
