// BIM, the basic iterative method (Kurakin et al. 2017): FGSM repeated max_iter times
// with a small step from the clean input, projected back into the eps-ball each time.
#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

class Bim final : public Attack {
 public:
  const char* name() const override { return "bim"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2, Norm::kL1}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.loss = true;
    return use;
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;
    // Kurakin et al.'s step: alpha = eps / max_iter spread over the iterations, at least
    // one grid step so pixel-valid iterates move from the first step on.
    const float step = p.eps_step > 0 ? p.eps_step : default_step(p, target.domain());
    return iterate_gradient_ascent(target, b, p, step, 0.0f, b.x0, x_adv);
  }

  static float default_step(const AttackParams& p, const InputDomain& d) {
    const float spread = 1.25f * p.eps / static_cast<float>(p.max_iter);
    return p.norm == Norm::kLinf && p.pixel_valid ? std::max(spread, d.step()) : spread;
  }
};

}  // namespace

std::unique_ptr<Attack> make_bim_attack() { return std::make_unique<Bim>(); }

}  // namespace slingshot
