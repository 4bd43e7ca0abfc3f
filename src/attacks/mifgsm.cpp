// MI-FGSM (Dong et al. 2018): BIM whose step follows a momentum of L1-normalized
// gradients, g <- decay * g + grad / ||grad||_1, which stabilizes the direction and
// transfers better across models (here: across bitwidths).
#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

class MiFgsm final : public Attack {
 public:
  const char* name() const override { return "mifgsm"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.loss = true;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "decay", .default_value = 1.0, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
             .doc = "momentum decay factor mu"}};
  }
  Status check(const AttackParams& p) const override {
    const double decay = setting(p, "decay");
    if (!(decay > 0)) return invalid_argument("mifgsm: decay must be > 0, got " + std::to_string(decay));
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;
    // Dong et al.: alpha = eps / max_iter; at least a grid step in pixel-valid Linf.
    float step = p.eps_step > 0 ? p.eps_step : p.eps / static_cast<float>(p.max_iter);
    if (p.eps_step <= 0 && p.norm == Norm::kLinf && p.pixel_valid) step = std::max(step, target.domain().step());
    return iterate_gradient_ascent(target, b, p, step, static_cast<float>(setting(p, "decay")), b.x0, x_adv);
  }
};

}  // namespace

std::unique_ptr<Attack> make_mifgsm_attack() { return std::make_unique<MiFgsm>(); }

}  // namespace slingshot
