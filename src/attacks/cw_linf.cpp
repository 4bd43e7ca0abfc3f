// Carlini & Wagner Linf, in the widely used PGD-on-CW-margin form (Madry et al. 2018's
// "CW" attack, and what ART's CarliniLInfMethod optimizes): maximize C&W's margin
// objective, max_{j!=y} z_j - z_y (targeted: z_t - max_{j!=t} z_j) capped at the
// confidence kappa, by projected sign-gradient ascent inside the Linf eps-ball. This is not
// the paper's iterative tau-shrinking attack: a fixed eps is the threat model here.
// Each run keeps, per sample, the highest-objective iterate among those the deployed
// engine misclassifies, else the highest-objective iterate.
#include <algorithm>
#include <cmath>
#include <limits>

#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

class CwLinf final : public Attack {
 public:
  const char* name() const override { return "cw-linf"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kLinf}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.restarts = true;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "confidence", .default_value = 0, .min = 0, .max = kNoBound, .max_exclusive = true,
             .doc = "margin kappa the wrong class must win by"}};
  }
  Status check(const AttackParams& p) const override {
    const double kappa = setting(p, "confidence");
    if (!(kappa >= 0)) return invalid_argument("cw-linf: confidence must be >= 0, got " + std::to_string(kappa));
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    const InputDomain d = target.domain();
    // PGD's default step; at least one grid step in pixel-valid mode so every step can move.
    float step = p.eps_step > 0 ? p.eps_step : 2.5f * p.eps / static_cast<float>(p.max_iter);
    if (p.eps_step <= 0 && p.pixel_valid && p.eps > 0) step = std::max(step, d.step());
    const Objective objective{LossKind::kCwMargin, b.labels, b.targets, static_cast<float>(setting(p, "confidence"))};
    const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);
    const bool targeted = !b.targets.empty();

    auto attempt = [&](const Tensor& start, Tensor& out) -> Status {
      Tensor cur = start, eval, value, grad, logits;
      std::vector<float> best(static_cast<size_t>(n), -std::numeric_limits<float>::infinity());
      std::vector<char> fooled(static_cast<size_t>(n), 0);
      out = b.x0;
      for (int it = 0; it <= p.max_iter; ++it) {
        project_iterate(cur, eval, b.x0, Norm::kLinf, p.eps, d, p.pixel_valid);
        SLING_RETURN_IF_ERROR(target.loss_grad(eval, objective, value, grad));
        SLING_RETURN_IF_ERROR(target.predict(eval, logits));
        const int64_t k = logits.dim(1);
        for (int64_t s = 0; s < n; ++s) {
          const float* z = logits.data() + s * k;
          const int64_t top = std::max_element(z, z + k) - z;
          const bool adv = targeted ? top == b.targets[s] : top != b.labels[s];
          const bool better = adv ? !fooled[s] || value[s] > best[s] : !fooled[s] && value[s] > best[s];
          if (!better) continue;
          best[s] = value[s];
          fooled[s] = fooled[s] || adv;
          std::copy(eval.data() + s * per, eval.data() + (s + 1) * per, out.data() + s * per);
        }
        if (it == p.max_iter) break;
        ascend(cur, grad, Norm::kLinf, step);
      }
      return Status::Ok();
    };
    return with_restarts(target, b, p, rng, attempt, x_adv);
  }
};

}  // namespace

std::unique_ptr<Attack> make_cw_linf_attack() { return std::make_unique<CwLinf>(); }

}  // namespace slingshot
