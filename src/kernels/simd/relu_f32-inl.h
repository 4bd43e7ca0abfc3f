// The ReLU of relu_f32__simd on one vector, for kernels that apply it as they store
// (FusedRelu): bit for bit relu_forward__ref. Internal; a Highway "-inl" header, included
// once per target by each kernel's .cpp after foreach_target.h.
#if defined(SLINGSHOT_KERNELS_SIMD_RELU_F32_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef SLINGSHOT_KERNELS_SIMD_RELU_F32_INL_H_
#undef SLINGSHOT_KERNELS_SIMD_RELU_F32_INL_H_
#else
#define SLINGSHOT_KERNELS_SIMD_RELU_F32_INL_H_
#endif

#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {

// x > 0 ? min(x, upper) : 0, with NaN and -0 mapped to +0 as the reference does.
template <class V>
HWY_INLINE V ReluClamp(V x, V upper) {
  namespace hn = hwy::HWY_NAMESPACE;
  const V r = hn::IfThenElseZero(hn::Gt(x, hn::Zero(hn::DFromV<V>())), x);
  return hn::IfThenElse(hn::Gt(r, upper), upper, r);
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#endif  // SLINGSHOT_KERNELS_SIMD_RELU_F32_INL_H_
