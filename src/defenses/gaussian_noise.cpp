// Additive Gaussian noise: out = clip(x + sigma * n, lo, hi), n ~ N(0, 1) per value and
// per call. Randomized, so attacks average over its draws (EOT). Its backward is the
// exact derivative of the draw: the identity where the noisy value stayed inside the
// range, zero where the clip cut it (moving x there does not move the output). EOT over
// exact draws estimates the gradient of the expected objective without bias.
#include <algorithm>
#include <cmath>

#include "defenses/preprocessor.h"

namespace slingshot {
namespace {

class GaussianNoise final : public Preprocessor {
 public:
  explicit GaussianNoise(double sigma) : sigma_(sigma) {}

  std::string name() const override { return "gaussian_noise"; }
  PreprocessorSettings settings() const override { return {{"sigma", sigma_}}; }
  bool randomized() const override { return sigma_ > 0; }
  bool differentiable() const override { return true; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    const float sigma = static_cast<float>(sigma_);
    out.resize(x.shape());
    for (int64_t i = 0; i < x.numel(); ++i)
      out[i] = sigma > 0 ? std::clamp(x[i] + sigma * rng.normal(), domain.lo, domain.hi) : x[i];
    return Status::Ok();
  }

  Status backward(const Tensor& x, const Tensor& out, const InputDomain& domain, const Tensor& dout,
                  Tensor& dx) const override {
    (void)x;
    dx.resize(dout.shape());
    for (int64_t i = 0; i < dout.numel(); ++i) {
      const bool clipped = sigma_ > 0 && (out[i] <= domain.lo || out[i] >= domain.hi);
      dx[i] = clipped ? 0.0f : dout[i];
    }
    return Status::Ok();
  }

 private:
  double sigma_;  // kept as given, so reports print it as given
};

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_gaussian_noise(const PreprocessorSettings& settings) {
  const double sigma = settings.at("sigma");
  if (!(sigma >= 0) || !std::isfinite(sigma))
    return invalid_argument("sigma must be a finite number >= 0, got " + std::to_string(sigma));
  return std::unique_ptr<Preprocessor>(new GaussianNoise(sigma));
}

}  // namespace slingshot
