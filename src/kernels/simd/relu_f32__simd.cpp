// Highway ReLU: compare-and-select on whole vectors, the reference on the tail.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/relu_f32__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <cstdint>

#include "kernels/ref/relu__ref.h"
#include "kernels/simd/relu_f32__simd.h"
#include "kernels/simd/relu_f32-inl.h"

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

void ReluForward(int64_t count, const float* x, float upper, float* y) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto hi = hn::Set(d, upper);
  for (; i + lanes <= count; i += lanes) hn::StoreU(ReluClamp(hn::LoadU(d, x + i), hi), d, y + i);
#endif
  relu_forward__ref<float>(count - i, x + i, upper, y + i);
}

void ReluBackward(int64_t count, const float* x, const float* grad_y, float upper, float* grad_x) {
  int64_t i = 0;
#if HWY_TARGET != HWY_SCALAR
  const hn::ScalableTag<float> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const auto zero = hn::Zero(d), hi = hn::Set(d, upper);
  for (; i + lanes <= count; i += lanes) {
    const auto v = hn::LoadU(d, x + i);
    const auto pass = hn::And(hn::Gt(v, zero), hn::Lt(v, hi));
    hn::StoreU(hn::IfThenElseZero(pass, hn::LoadU(d, grad_y + i)), d, grad_x + i);
  }
#endif
  relu_backward__ref<float>(count - i, x + i, grad_y + i, upper, grad_x + i);
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(ReluForward);
HWY_EXPORT(ReluBackward);
}  // namespace

void relu_forward_f32__simd(int64_t count, const float* x, float upper, float* y) {
  HWY_DYNAMIC_DISPATCH(ReluForward)(count, x, upper, y);
}

void relu_backward_f32__simd(int64_t count, const float* x, const float* grad_y, float upper, float* grad_x) {
  HWY_DYNAMIC_DISPATCH(ReluBackward)(count, x, grad_y, upper, grad_x);
}

}  // namespace slingshot
#endif  // HWY_ONCE
