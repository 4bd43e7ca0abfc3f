// Additive Gaussian noise: out = clip(x + sigma * n, lo, hi), n ~ N(0, 1) per value and
// per call. Randomized, so attacks average over its draws (EOT). Its backward is the
// exact derivative of the draw: the identity where the noisy value stayed inside the
// range, zero where the clip cut it (moving x there does not move the output). EOT over
// exact draws estimates the gradient of the expected objective without bias.
//
// Randomized smoothing (Cohen et al. 2019) is the same draw with a vote: the defended
// target's prediction is the majority over `samples` draws (PREDICT, abstaining at level
// `alpha`), and attacks take EOT gradients over the noise, the adaptive attack on a
// smoothed classifier. The clip keeps the base classifier f(clip(x + noise)), itself a
// valid base classifier, and on the integer engines it changes nothing: their input
// quantization saturates at the same range.
#include <algorithm>
#include <cmath>

#include "defenses/preprocessor.h"

namespace slingshot {
namespace {

class GaussianNoise final : public Preprocessor {
 public:
  explicit GaussianNoise(double sigma, Vote vote = {}) : sigma_(sigma), vote_(vote) {}

  std::string name() const override { return vote_.draws ? "randomized_smoothing" : "gaussian_noise"; }
  PreprocessorSettings settings() const override {
    if (!vote_.draws) return {{"sigma", sigma_}};
    return {{"sigma", sigma_}, {"samples", static_cast<double>(vote_.draws)}, {"alpha", vote_.alpha}};
  }
  Vote prediction_vote() const override { return vote_; }
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
  Vote vote_;     // randomized smoothing's vote; none for plain noise
};

Result<double> sigma_setting(const PreprocessorSettings& settings, bool zero_ok) {
  const double sigma = settings.at("sigma");
  if (!(zero_ok ? sigma >= 0 : sigma > 0) || !std::isfinite(sigma))
    return invalid_argument(std::string("sigma must be a finite number ") + (zero_ok ? ">= 0" : "> 0") + ", got " +
                            std::to_string(sigma));
  return sigma;
}

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_gaussian_noise(const PreprocessorSettings& settings) {
  SLING_ASSIGN_OR_RETURN(const double sigma, sigma_setting(settings, /*zero_ok=*/true));
  return std::unique_ptr<Preprocessor>(new GaussianNoise(sigma));
}

Result<std::unique_ptr<Preprocessor>> make_randomized_smoothing(const PreprocessorSettings& settings) {
  SLING_ASSIGN_OR_RETURN(const double sigma, sigma_setting(settings, /*zero_ok=*/false));
  Preprocessor::Vote vote;
  SLING_ASSIGN_OR_RETURN(vote.draws, whole_number_setting(settings, "samples", 1, 100000));
  vote.alpha = settings.at("alpha");
  if (!(vote.alpha > 0 && vote.alpha <= 1))
    return invalid_argument("alpha must be in (0, 1], got " + std::to_string(vote.alpha));
  return std::unique_ptr<Preprocessor>(new GaussianNoise(sigma, vote));
}

}  // namespace slingshot
