// Highway int8 max pooling, bit-exact with max_pool2d_s8__ref: the same clipped windows
// (window_taps.h), with channels in int8 vectors (64 per AVX-512 vector); the last
// channels of each pixel that do not fill a vector go through ever narrower vectors (down
// to one lane), so no load or store leaves the pixel.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/simd/max_pool2d_s8__simd.cpp"
#include <hwy/foreach_target.h>  // must precede highway.h
#include <hwy/highway.h>

#include <cstdint>

#include "kernels/ref/window_taps.h"
#include "kernels/simd/max_pool2d_s8__simd.h"

HWY_BEFORE_NAMESPACE();
namespace slingshot {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// out[c0, c) of one window: whole vectors of kLanes channels, then halved vectors.
template <size_t kLanes = HWY_LANES(int8_t)>
HWY_INLINE void PoolChannels(const WindowShape& s, const PoolQuantParams& q, const ClippedWindow& w,
                             const int8_t* input, int64_t c0, int8_t* out) {
  const hn::CappedTag<int8_t, kLanes> d;
  const int64_t lanes = static_cast<int64_t>(hn::Lanes(d));
  const int64_t c = s.input.c;
  const auto lo = hn::Set(d, static_cast<int8_t>(q.activation_min));
  const auto hi = hn::Set(d, static_cast<int8_t>(q.activation_max));
  for (; c0 + lanes <= c; c0 += lanes) {
    auto m = hn::Set(d, INT8_MIN);
    for (int32_t ky = w.ky_begin; ky < w.ky_end; ++ky)
      for (int32_t kx = w.kx_begin; kx < w.kx_end; ++kx)
        m = hn::Max(m, hn::LoadU(d, input + w.input_pixel(s, ky, kx) * c + c0));
    hn::StoreU(hn::Min(hn::Max(m, lo), hi), d, out + c0);
  }
  if constexpr (kLanes > 1) {
    if (c0 < c) PoolChannels<kLanes / 2>(s, q, w, input, c0, out);
  }
}

void MaxPool2dS8(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output) {
  for_each_window(
      s, [&](const ClippedWindow& w) HWY_ATTR { PoolChannels(s, q, w, input, 0, output + w.out_pixel * s.input.c); });
}

}  // namespace HWY_NAMESPACE
}  // namespace slingshot
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace slingshot {
namespace {
HWY_EXPORT(MaxPool2dS8);
}  // namespace

void max_pool2d_s8__simd(const WindowShape& s, const PoolQuantParams& q, const int8_t* input, int8_t* output) {
  HWY_DYNAMIC_DISPATCH(MaxPool2dS8)(s, q, input, output);
}

}  // namespace slingshot
#endif  // HWY_ONCE
