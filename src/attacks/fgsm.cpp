// FGSM (Goodfellow et al. 2015): one step of size eps along the steepest-ascent direction
// of the objective, x' = x0 + eps * sign(grad) for Linf (normalized gradient for L2 / L1).
#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

class Fgsm final : public Attack {
 public:
  const char* name() const override { return "fgsm"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2, Norm::kL1}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.loss = true;
    use.max_iter = false;
    return use;
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;
    Tensor value, grad, continuous = b.x0;
    const Objective objective{p.loss, b.labels, b.targets};
    SLING_RETURN_IF_ERROR(target.loss_grad(b.x0, objective, value, grad));
    ascend(continuous, grad, p.norm, p.eps_step > 0 ? p.eps_step : p.eps);
    project_iterate(continuous, x_adv, b.x0, p.norm, p.eps, target.domain(), p.pixel_valid);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_fgsm_attack() { return std::make_unique<Fgsm>(); }

}  // namespace slingshot
