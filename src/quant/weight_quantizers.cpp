// Per-channel weight quantizers (see weight_quantizers.h).
#include "quant/weight_quantizers.h"

#include <algorithm>
#include <cmath>

namespace slingshot {
namespace {

// Weight layout as [outer][channels][inner] around the channel axis.
struct ChannelView {
  int64_t outer = 1, channels = 1, inner = 1;
  int64_t index(int64_t o, int64_t c, int64_t i) const { return (o * channels + c) * inner + i; }
};

ChannelView channel_view(const Shape& s, int axis) {
  ChannelView v;
  for (int d = 0; d < static_cast<int>(s.size()); ++d) {
    if (d < axis) v.outer *= s[d];
    else if (d == axis) v.channels = s[d];
    else v.inner *= s[d];
  }
  return v;
}

template <class F>
void for_channel(const ChannelView& v, int64_t c, F&& f) {
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) f(v.index(o, c, i));
}

struct ChannelScale {
  float scale = 0;      // the channel's quantization scale
  double threshold = 0; // ternary only: |w| above it becomes +-1 at inference
};

// Per-channel scale for the scheme; codes are chosen afterwards.
ChannelScale channel_scale(const Tensor& w, const ChannelView& v, int64_t c, WeightScheme scheme) {
  double max_abs = 0, sum_abs = 0;
  int64_t n = 0;
  for_channel(v, c, [&](int64_t k) {
    const double a = std::fabs(static_cast<double>(w[k]));
    max_abs = std::max(max_abs, a);
    sum_abs += a;
    ++n;
  });
  const double mean_abs = n ? sum_abs / n : 0.0;
  switch (scheme) {
    case WeightScheme::kInt8:
    case WeightScheme::kInt4:
      return {static_cast<float>(max_abs / weight_qmax(scheme)), 0.0};
    case WeightScheme::kBinary:
      return {static_cast<float>(mean_abs), 0.0};
    case WeightScheme::kTernary: {
      // Ternary weight networks: threshold 0.7 mean|w|, scale the mean of what survives.
      const double delta = 0.7 * mean_abs;
      double kept = 0;
      int64_t count = 0;
      for_channel(v, c, [&](int64_t k) {
        const double a = std::fabs(static_cast<double>(w[k]));
        if (a > delta) {
          kept += a;
          ++count;
        }
      });
      return {static_cast<float>(count ? kept / count : 0.0), delta};
    }
  }
  return {};
}

QuantizedWeights quantize_impl(const Tensor& w, int axis, WeightScheme scheme, float min_scale, Rng* rng) {
  const ChannelView v = channel_view(w.shape(), axis);
  QuantizedWeights q;
  q.scale.resize(v.channels);
  q.codes = TensorT<int8_t>(w.shape());
  const float qmax = static_cast<float>(weight_qmax(scheme));
  for (int64_t c = 0; c < v.channels; ++c) {
    const ChannelScale cs = channel_scale(w, v, c, scheme);
    float s = cs.scale;
    // An all-zero channel has no natural scale; any positive one represents it exactly.
    if (!(s > 0) || !std::isfinite(s)) s = 1.0f;
    s = std::max(s, min_scale);
    q.scale[c] = s;
    for_channel(v, c, [&](int64_t k) {
      const float x = w[k] / s;
      float code;
      if (scheme == WeightScheme::kBinary) {
        code = w[k] >= 0 ? 1.0f : -1.0f;
      } else if (scheme == WeightScheme::kTernary) {
        const bool keep = rng ? rng->uniform() < std::min(std::fabs(x), 1.0f)
                              : std::fabs(static_cast<double>(w[k])) > cs.threshold;
        code = keep ? (x > 0 ? 1.0f : -1.0f) : 0.0f;
      } else {
        code = std::clamp(std::round(x), -qmax, qmax);
      }
      q.codes[k] = static_cast<int8_t>(code);
    });
  }
  return q;
}

}  // namespace

QuantizedWeights quantize_weights(const Tensor& w, int channel_axis, WeightScheme scheme, float min_scale) {
  return quantize_impl(w, channel_axis, scheme, min_scale, nullptr);
}

QuantizedWeights quantize_weights_stochastic(const Tensor& w, int channel_axis, WeightScheme scheme, Rng& rng) {
  return quantize_impl(w, channel_axis, scheme, 0.0f, scheme == WeightScheme::kTernary ? &rng : nullptr);
}

Tensor dequantize_weights(const QuantizedWeights& q, int channel_axis) {
  const ChannelView v = channel_view(q.codes.shape(), channel_axis);
  Tensor w(q.codes.shape());
  for (int64_t c = 0; c < v.channels; ++c)
    for_channel(v, c, [&](int64_t k) { w[k] = static_cast<float>(q.codes[k]) * q.scale[c]; });
  return w;
}

}  // namespace slingshot
