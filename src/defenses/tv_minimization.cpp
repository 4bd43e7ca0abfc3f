// Total-variation minimization (Guo et al., "Countering adversarial images using input
// transformations", ICLR 2018): drop values at random, then rebuild the signal from the
// kept ones as the one with the least total variation that stays close to them, which
// removes small perturbations while keeping edges.
//
// Per sample and channel, with values rescaled to [0, 1] over the input range, a kept-
// value mask m (each value kept with probability `keep`, as ART's TotalVarMin draws it)
// and u constrained to [0, 1]:
//   minimize  1/2 sum m (u - x)^2  +  lambda sum |grad u|
// where |grad u| is the isotropic magnitude of forward differences (zero across the
// border); waveforms [N, samples] have one axis. Guo et al. write the data term as an
// unsquared norm; the squared one is the ROF model, whose prox is closed form. It is
// solved by Chambolle & Pock's primal-dual algorithm (2011, algorithm 1, theta 1) for a
// fixed number of iterations, so runtime is bounded and the result depends only on x
// and the mask. Dropped values start at the mean of the kept ones in their channel
// (mid-range if none is kept): the rebuild never reads them.
//
// Randomized, and the output reaches x only through hundreds of clamped solver steps, so
// it is registered non-differentiable: attacks cross it with BPDA (the identity, as
// Athalye et al. broke it) and average over masks with EOT.
#include <algorithm>
#include <cmath>
#include <vector>

#include "defenses/preprocessor.h"
#include "defenses/signal_layout.h"

namespace slingshot {
namespace {

// Chambolle-Pock step sizes: tau sigma |grad|^2 <= 1, and |grad|^2 <= 8 on a 2-D grid.
constexpr float kPrimalStep = 0.35f;
constexpr float kDualStep = 0.35f;

// One channel plane, rebuilt in place. The buffers live across calls to save allocations.
class TvSolver {
 public:
  TvSolver(int64_t height, int64_t width, float lambda, int iterations)
      : h_(height), w_(width), lambda_(lambda), iterations_(iterations) {
    const size_t n = static_cast<size_t>(height * width);
    target_.resize(n), kept_.resize(n), pull_.resize(n), u_.resize(n), extrapolated_.resize(n), px_.resize(n),
        py_.resize(n), zero_row_.assign(static_cast<size_t>(width), 0.0f);
  }

  // The plane's values in [0, 1] and whether each was kept (1) or dropped (0); fill both,
  // then solve() returns u.
  std::vector<float>& target() { return target_; }
  std::vector<float>& kept() { return kept_; }
  const std::vector<float>& solve();

 private:
  // p + sigma grad(u bar) at k, projected onto the disc |p| <= lambda.
  void dual_step(int64_t k, float gx, float gy) {
    const float qx = px_[k] + kDualStep * gx, qy = py_[k] + kDualStep * gy;
    const float norm = std::sqrt(qx * qx + qy * qy);
    const float scale = norm > lambda_ ? lambda_ / norm : 1.0f;
    px_[k] = qx * scale;
    py_[k] = qy * scale;
  }
  // u + tau div p at k, then the prox of the data term, v + pull (x - v) with pull =
  // tau m / (1 + tau m) (exactly v where v already equals x), and the [0, 1] box.
  void primal_step(int64_t k, float div) {
    const float v = u_[k] + kPrimalStep * div;
    const float next = std::clamp(v + pull_[k] * (target_[k] - v), 0.0f, 1.0f);
    extrapolated_[k] = 2.0f * next - u_[k];
    u_[k] = next;
  }

  int64_t h_, w_;
  float lambda_;
  int iterations_;
  std::vector<float> target_, kept_, pull_, u_, extrapolated_, px_, py_, zero_row_;
};

const std::vector<float>& TvSolver::solve() {
  const int64_t n = h_ * w_;
  double kept_sum = 0, kept_count = 0;
  for (int64_t k = 0; k < n; ++k) kept_sum += kept_[k] * target_[k], kept_count += kept_[k];
  const float fill = kept_count > 0 ? static_cast<float>(kept_sum / kept_count) : 0.5f;
  for (int64_t k = 0; k < n; ++k) {
    u_[k] = kept_[k] > 0 ? target_[k] : fill;
    pull_[k] = kPrimalStep * kept_[k] / (1.0f + kPrimalStep * kept_[k]);
  }
  extrapolated_ = u_;
  std::fill(px_.begin(), px_.end(), 0.0f);
  std::fill(py_.begin(), py_.end(), 0.0f);
  // Forward differences are zero across the last column and row, so px stays 0 on the last
  // column and py on the last row: the divergence reads them without border tests.
  for (int it = 0; it < iterations_; ++it) {
    for (int64_t i = 0; i < h_; ++i) {
      const float* row = extrapolated_.data() + i * w_;
      const float* below = i + 1 < h_ ? row + w_ : row;  // the last row: no vertical difference
      for (int64_t j = 0; j + 1 < w_; ++j) dual_step(i * w_ + j, row[j + 1] - row[j], below[j] - row[j]);
      dual_step(i * w_ + w_ - 1, 0.0f, below[w_ - 1] - row[w_ - 1]);
    }
    for (int64_t i = 0; i < h_; ++i) {
      const int64_t k0 = i * w_;
      const float* up = i > 0 ? py_.data() + k0 - w_ : zero_row_.data();  // the first row: nothing above
      primal_step(k0, px_[k0] + py_[k0] - up[0]);
      for (int64_t j = 1; j < w_; ++j) primal_step(k0 + j, px_[k0 + j] - px_[k0 + j - 1] + py_[k0 + j] - up[j]);
    }
  }
  return u_;
}

class TvMinimization final : public Preprocessor {
 public:
  TvMinimization(double keep, double lambda, int iterations) : keep_(keep), lambda_(lambda), iterations_(iterations) {}

  std::string name() const override { return "tv_minimization"; }
  PreprocessorSettings settings() const override {
    return {{"keep", keep_}, {"lambda", lambda_}, {"iterations", iterations_}};
  }
  bool randomized() const override { return keep_ < 1; }
  bool differentiable() const override { return false; }

  Status apply(const Tensor& x, const InputDomain& domain, Rng& rng, Tensor& out) const override {
    SLING_RETURN_IF_ERROR(check_bounded_domain(domain, name()));
    SLING_ASSIGN_OR_RETURN(const SignalLayout l, signal_layout(x, name()));
    const int64_t C = l.channels, pixels = l.height * l.width;
    const float range = domain.hi - domain.lo;
    TvSolver solver(l.height, l.width, static_cast<float>(lambda_), iterations_);
    std::vector<float> mask(static_cast<size_t>(pixels * C));
    out.resize(x.shape());
    for (int64_t n = 0; n < l.samples; ++n) {
      // The whole sample's mask first, in NHWC order, so draws do not depend on the solver.
      for (float& m : mask) m = keep_ >= 1 || rng.uniform() < keep_ ? 1.0f : 0.0f;
      const float* src = x.data() + n * pixels * C;
      float* dst = out.data() + n * pixels * C;
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t p = 0; p < pixels; ++p) {
          solver.target()[p] = std::clamp((src[p * C + c] - domain.lo) / range, 0.0f, 1.0f);
          solver.kept()[p] = mask[p * C + c];
        }
        const std::vector<float>& u = solver.solve();
        for (int64_t p = 0; p < pixels; ++p) dst[p * C + c] = std::clamp(domain.lo + u[p] * range, domain.lo, domain.hi);
      }
    }
    return Status::Ok();
  }

 private:
  double keep_, lambda_;  // kept as given, so reports print them as given
  int iterations_;
};

}  // namespace

Result<std::unique_ptr<Preprocessor>> make_tv_minimization(const PreprocessorSettings& settings) {
  const double keep = settings.at("keep"), lambda = settings.at("lambda");
  if (!(keep > 0 && keep <= 1)) return invalid_argument("keep must be in (0, 1], got " + std::to_string(keep));
  if (!(lambda >= 0) || !std::isfinite(lambda))
    return invalid_argument("lambda must be a finite number >= 0, got " + std::to_string(lambda));
  SLING_ASSIGN_OR_RETURN(const int iterations, whole_number_setting(settings, "iterations", 1, 10000));
  return std::unique_ptr<Preprocessor>(new TvMinimization(keep, lambda, iterations));
}

}  // namespace slingshot
