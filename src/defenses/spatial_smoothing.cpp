// Spatial smoothing as a Gaussian blur: every value becomes the weighted mean of its
// neighbours within ceil(3 sigma) pixels, weights exp(-d^2 / (2 sigma^2)) normalized to
// sum 1, per channel, separably along width then height of images [N, H, W, C]; along
// the samples of waveforms [N, samples]. Borders are reflected with the edge value
// repeated (d c b a | a b c d), as median_filter pads, so every input value's weight
// lands inside the signal and the blur keeps the sum of each plane.
//
// ART's SpatialSmoothing is a median filter; that one is median_filter here. This is the
// linear smoothing, hence differentiable: backward() is the exact adjoint (the transposed
// blur: each output's gradient is spread back over the inputs it read, with the same
// weights and the same reflection), so attacks need no BPDA to cross it. Outputs are
// means of inputs, so they stay in the range; the clamp only catches float rounding.
#include <algorithm>
#include <cmath>
#include <vector>

#include "defenses/preprocessor.h"
#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

// The normalized Gaussian weights for offsets -r .. r, r = ceil(3 sigma); {1} for sigma 0.
std::vector<double> gaussian_kernel(double sigma) {
  const int radius = static_cast<int>(std::ceil(3 * sigma));
  std::vector<double> w(2 * radius + 1);
  double total = 0;
  for (int t = -radius; t <= radius; ++t) total += w[t + radius] = radius ? std::exp(-t * t / (2 * sigma * sigma)) : 1;
  for (double& v : w) v /= total;
  return w;
}

class SpatialSmoothing final : public Preprocessor {
 public:
  explicit SpatialSmoothing(double sigma) : sigma_(sigma), kernel_(gaussian_kernel(sigma)) {}

  std::string name() const override { return "spatial_smoothing"; }
  PreprocessorSettings settings() const override { return {{"sigma", sigma_}}; }
  bool randomized() const override { return false; }
  bool differentiable() const override { return true; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    (void)rng;
    SLING_ASSIGN_OR_RETURN(const SignalLayout l, signal_layout(x, name()));
    blur(x, l, Direction::kForward, out);
    for (int64_t i = 0; i < out.numel(); ++i) out[i] = std::clamp(out[i], domain.lo, domain.hi);
    return Status::Ok();
  }

  // The blur is linear, so its Jacobian is itself: dx is the transposed blur of dout.
  Status backward(const Tensor& x, const Tensor& out, const InputDomain& domain, const Tensor& dout,
                  Tensor& dx) const override {
    (void)x, (void)out, (void)domain;
    SLING_ASSIGN_OR_RETURN(const SignalLayout l, signal_layout(dout, name()));
    blur(dout, l, Direction::kAdjoint, dx);
    return Status::Ok();
  }

 private:
  enum class Axis { kWidth, kHeight };
  enum class Direction { kForward, kAdjoint };

  // The separable blur of `in` (width, then height) or its transpose (the transposed
  // passes in reverse order: height, then width).
  void blur(const Tensor& in, const SignalLayout& l, Direction direction, Tensor& out) const {
    out.resize(in.shape());
    if (!l.two_d) return convolve_axis(in.data(), out.data(), l, Axis::kWidth, direction);
    const Axis first = direction == Direction::kForward ? Axis::kWidth : Axis::kHeight;
    const Axis second = first == Axis::kWidth ? Axis::kHeight : Axis::kWidth;
    Tensor between(in.shape());
    convolve_axis(in.data(), between.data(), l, first, direction);
    convolve_axis(between.data(), out.data(), l, second, direction);
  }

  // One 1-D pass of the kernel over every line of `axis` (all samples, rows or columns,
  // channels). Forward gathers: out[i] = sum_t w[t] in[reflect(i + t)]. Adjoint scatters
  // the same products: out[reflect(i + t)] += w[t] in[i].
  void convolve_axis(const float* in, float* out, const SignalLayout& l, Axis axis, Direction direction) const {
    const bool along_height = axis == Axis::kHeight;
    const int64_t length = along_height ? l.height : l.width, across = along_height ? l.width : l.height;
    const int64_t step = along_height ? l.width * l.channels : l.channels;  // between neighbours on a line
    const int64_t line_step = along_height ? l.channels : l.width * l.channels;
    const int64_t plane = l.height * l.width * l.channels;
    const int64_t radius = static_cast<int64_t>(kernel_.size() / 2);
    std::vector<double> acc(static_cast<size_t>(length));
    for (int64_t n = 0; n < l.samples; ++n)
      for (int64_t a = 0; a < across; ++a)
        for (int64_t c = 0; c < l.channels; ++c) {
          const int64_t start = n * plane + a * line_step + c;
          std::fill(acc.begin(), acc.end(), 0.0);
          for (int64_t i = 0; i < length; ++i)
            for (int64_t t = -radius; t <= radius; ++t) {
              const double w = kernel_[t + radius];
              const int64_t j = reflect_index(i + t, length);
              if (direction == Direction::kForward)
                acc[i] += w * in[start + j * step];
              else
                acc[j] += w * in[start + i * step];
            }
          for (int64_t i = 0; i < length; ++i) out[start + i * step] = static_cast<float>(acc[i]);
        }
  }

  double sigma_;  // kept as given, so reports print it as given
  std::vector<double> kernel_;
};

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_spatial_smoothing(const PreprocessorSettings& settings) {
  const double sigma = settings.at("sigma");
  if (!(sigma >= 0 && sigma <= 10))
    return invalid_argument("sigma must be in [0, 10] pixels, got " + std::to_string(sigma));
  return std::unique_ptr<Preprocessor>(new SpatialSmoothing(sigma));
}

}  // namespace slingshot
