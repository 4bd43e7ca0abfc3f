// PGD (Madry et al. 2018): iterated steepest ascent projected onto the eps-ball, from a
// uniformly random start in the ball on each of num_random_init restarts (ART's
// convention: num_random_init = 0 starts once from the clean input).
#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

class Pgd final : public Attack {
 public:
  const char* name() const override { return "pgd"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2, Norm::kL1}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.loss = use.restarts = true;
    return use;
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    // Madry et al. use 2.5 * eps / max_iter, enough to reach the ball's surface from anywhere.
    const float step = p.eps_step > 0 ? p.eps_step : 2.5f * p.eps / static_cast<float>(p.max_iter);
    return with_restarts(
        target, b, p, rng,
        [&](const Tensor& start, Tensor& out) { return iterate_gradient_ascent(target, b, p, step, 0.0f, start, out); },
        x_adv);
  }
};

}  // namespace

std::unique_ptr<Attack> make_pgd_attack() { return std::make_unique<Pgd>(); }

}  // namespace slingshot
