// Highway float addition on whole vectors, the reference on the tail; optionally through
// a fused ReLU.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/add_f32__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <cstdint>

#include "kernels/ref/add__ref.h"
#include "kernels/ref/relu__ref.h"
#include "kernels/simd/add_f32__simd.h"
#include "kernels/simd/relu_f32-inl.h"

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void AddF32(int64_t count, const float* a, const float* b, float* y, FusedRelu relu) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  if (relu.enabled) {
    const auto hi = hn::Set(d, relu.upper);
    for (; i + lanes <= count; i += lanes)
      hn::StoreU(ReluClamp(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), hi), d, y + i);
  } else {
    for (; i + lanes <= count; i += lanes) hn::StoreU(hn::Add(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, y + i);
  }
#endif
  add__ref<float>(count - i, a + i, b + i, y + i);
  if (relu.enabled) relu_forward__ref<float>(count - i, y + i, relu.upper, y + i);
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(AddF32);
}  // namespace

void add_f32__simd(int64_t count, const float* a, const float* b, float* y, FusedRelu relu) {
  HWY_DYNAMIC_DISPATCH(AddF32)(count, a, b, y, relu);
}

}  // namespace slingshot
#endif  // HWY_ONCE
