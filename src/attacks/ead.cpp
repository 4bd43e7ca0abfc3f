// EAD, the elastic-net attack (Chen, Sharma, Zhang, Yi & Hsieh, AAAI 2018): minimizes
//   c * f(x) + ||x - x0||_2^2 + beta * ||x - x0||_1   over x in [lo, hi]
// with f the C&W margin loss (untargeted max(z_y - max_{j!=y} z_j, -kappa), targeted
// max(max_{j!=t} z_j - z_t, -kappa)). The smooth part is descended by FISTA: a gradient
// step on c * f + ||.||_2^2 from the momentum point y_k with a square-root decaying
// learning rate, then the projected shrinkage-thresholding operator S_beta (values
// within beta of x0 snap back to x0, the others move beta toward x0 and are clipped to
// [lo, hi]), then y_{k+1} = x_{k+1} + k / (k + 3) * (x_{k+1} - x_k). A per-sample binary
// search over c keeps the best adversarial point by the decision rule (elastic net or
// L1), each iterate judged on the deployed engine at the point the attack would return:
// its grid projection inside the L1 ball of radius eps (when eps is finite).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "attacks/attack.h"

namespace slingshot {
namespace {

class Ead final : public Attack {
 public:
  const char* name() const override { return "ead"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  int default_max_iter() const override { return 100; }  // ART's ElasticNet
  std::vector<Norm> norms() const override { return {Norm::kL1}; }
  bool accepts_unbounded_eps() const override { return true; }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "beta", .default_value = 1e-3, .min = 0, .max = kNoBound, .max_exclusive = true,
             .doc = "weight of the L1 term in the elastic-net objective"},
        {.name = "initial_const", .default_value = 1e-2, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
         .doc = "first trade-off constant c of the binary search"},
        {.name = "binary_search_steps", .kind = SettingKind::kInteger, .default_value = 9, .min = 1, .max = 1000,
         .doc = "binary-search steps over c"},
        {.name = "learning_rate", .default_value = 1e-2, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
         .doc = "initial step of the ISTA iterations (decays to 0)"},
        {.name = "decision_rule", .kind = SettingKind::kChoice, .default_value = 0, .choices = {"elastic net", "L1"},
         .doc = "distortion that picks the best adversarial example"},
        {.name = "confidence", .default_value = 0, .min = 0, .max = kNoBound, .max_exclusive = true,
         .doc = "margin kappa the wrong class must win by"}};
  }

  Status check(const AttackParams& p) const override {
    const double beta = setting(p, "beta");
    if (beta < 0) return invalid_argument("beta (the L1 weight) must be >= 0, got " + std::to_string(beta));
    const double c0 = setting(p, "initial_const");
    if (!(c0 > 0)) return invalid_argument("initial_const must be > 0, got " + std::to_string(c0));
    const double steps = setting(p, "binary_search_steps");
    if (steps < 1 || steps != std::floor(steps))
      return invalid_argument("binary_search_steps must be a whole number >= 1, got " + std::to_string(steps));
    const double lr = setting(p, "learning_rate");
    if (!(lr > 0)) return invalid_argument("learning_rate must be > 0, got " + std::to_string(lr));
    const double rule = setting(p, "decision_rule");
    if (rule != 0 && rule != 1)
      return invalid_argument("decision_rule must be 0 (elastic net) or 1 (L1), got " + std::to_string(rule));
    const double kappa = setting(p, "confidence");
    if (kappa < 0) return invalid_argument("confidence must be >= 0, got " + std::to_string(kappa));
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;  // deterministic
    x_adv = b.x0;
    const int64_t n = b.x0.dim(0);
    if (n == 0 || p.eps == 0) return Status::Ok();
    const int64_t per = b.x0.numel() / n;
    const float beta = static_cast<float>(setting(p, "beta"));
    const int steps = static_cast<int>(setting(p, "binary_search_steps"));
    const double lr0 = setting(p, "learning_rate");
    const bool l1_rule = setting(p, "decision_rule") == 1;
    const float kappa = static_cast<float>(setting(p, "confidence"));
    const InputDomain domain = target.domain();
    const bool targeted = !b.targets.empty();
    // The CW objective ascends min(margin, kappa); EAD's loss f is its negative.
    const Objective objective{LossKind::kCwMargin, b.labels, b.targets, kappa};
    constexpr double kNoUpper = 1e10;

    std::vector<double> c(static_cast<size_t>(n), setting(p, "initial_const"));
    std::vector<double> lower(static_cast<size_t>(n), 0.0), upper(static_cast<size_t>(n), kNoUpper);
    std::vector<double> best(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
    Tensor x, y, x_new, cand, value, grad, logits;
    for (int step = 0; step < steps; ++step) {
      x = b.x0;
      y = b.x0;
      std::vector<bool> succeeded(static_cast<size_t>(n), false);
      for (int k = 0; k < p.max_iter; ++k) {
        const double lr = lr0 * std::sqrt(1.0 - static_cast<double>(k) / p.max_iter);
        SLING_RETURN_IF_ERROR(target.loss_grad(y, objective, value, grad));
        x_new = y;
        for (int64_t s = 0; s < n; ++s) {
          const float cs = static_cast<float>(c[s]);
          for (int64_t i = s * per; i < (s + 1) * per; ++i) {
            // d/dx [c * f + ||x - x0||^2] with df/dx = -d(objective)/dx.
            const float z = y[i] - static_cast<float>(lr) * (-cs * grad[i] + 2.0f * (y[i] - b.x0[i]));
            const float d = z - b.x0[i];
            x_new[i] = d > beta ? std::min(z - beta, domain.hi) : d < -beta ? std::max(z + beta, domain.lo) : b.x0[i];
          }
        }
        const float momentum = static_cast<float>(k) / static_cast<float>(k + 3);
        for (int64_t i = 0; i < y.numel(); ++i)
          y[i] = std::clamp(x_new[i] + momentum * (x_new[i] - x[i]), domain.lo, domain.hi);
        std::swap(x, x_new);

        cand = x;
        project(cand, b.x0, Norm::kL1, p.eps, domain, p.pixel_valid);
        SLING_RETURN_IF_ERROR(target.predict(cand, logits));
        for (int64_t s = 0; s < n; ++s) {
          const int pred = top1_class(logits, s);
          if (targeted ? pred != b.targets[s] : pred == b.labels[s]) continue;
          succeeded[s] = true;
          const Distortion d = distortion(cand.data() + s * per, b.x0.data() + s * per, per);
          const double size = l1_rule ? d.l1 : d.l2 * d.l2 + beta * d.l1;
          if (size < best[s]) {
            best[s] = size;
            std::copy(cand.data() + s * per, cand.data() + (s + 1) * per, x_adv.data() + s * per);
          }
        }
      }
      // C&W's binary search: a success lowers c toward the last failure, a failure raises
      // it (tenfold while no success bounds it from above).
      for (int64_t s = 0; s < n; ++s) {
        if (succeeded[s]) {
          upper[s] = std::min(upper[s], c[s]);
          c[s] = (lower[s] + upper[s]) / 2;
        } else {
          lower[s] = std::max(lower[s], c[s]);
          c[s] = upper[s] < kNoUpper ? (lower[s] + upper[s]) / 2 : c[s] * 10;
        }
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_ead_attack() { return std::make_unique<Ead>(); }

}  // namespace slingshot
