// JSMA, the Jacobian-based saliency map attack (Papernot, McDaniel, Jha, Fredrikson,
// Celik & Swami, EuroS&P 2016): a targeted L0 attack that repeatedly picks the pair of
// input values (p, q) with the largest saliency alpha_pq * |beta_pq|, subject to
// alpha_pq > 0 and beta_pq < 0, where alpha_pq = sum over i in {p, q} of dF_t/dx_i and
// beta_pq the same sum for the other classes, and moves both by theta (the increase
// version for theta > 0, the decrease version for theta < 0), until the deployed engine
// predicts the target or the budget of changed values is spent. Values saturated in
// theta's direction leave the search domain.
//
// The outputs F. Target::loss_grad exposes shift-invariant objectives only, so single
// logit gradients (JSMA-Z) are out of reach; this is JSMA on the softmax outputs (the
// paper's F, JSMA-F in Carlini & Wagner's naming). There sum_j p_j = 1, so
// beta_pq = -alpha_pq exactly, the constraint beta < 0 follows from alpha > 0, and the
// saliency alpha_pq^2 is largest for the two values of largest alpha_i (in theta's
// direction) whose sum is positive: an O(n) search instead of O(n^2). dp_t/dx =
// p_t * d(log p_t)/dx and the targeted cross-entropy objective is log p_t; the positive
// factor p_t changes no choice, so one loss_grad call per iteration suffices.
//
// Budget: at most min(eps, floor(gamma * n)) values change (eps is the L0 radius, gamma
// the paper's maximum distortion share). Untargeted runs aim at the deployed engine's
// second most likely class at the clean input, and stop as soon as the label leaves the
// true class. max_iter is not used: the budget and theta bound the iterations.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "attacks/attack.h"

namespace slingshot {
namespace {

class Jsma final : public Attack {
 public:
  const char* name() const override { return "jsma"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kL0}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.max_iter = false;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "theta", .default_value = 1, .min = -kNoBound, .max = kNoBound, .max_exclusive = true,
             .doc = "change per selected value (negative: decrease); nonzero"},
        {.name = "gamma", .default_value = 0.1, .min = 0, .max = 1, .min_exclusive = true,
         .doc = "largest share of input values that may change"}};
  }

  Status check(const AttackParams& p) const override {
    const double gamma = setting(p, "gamma");
    if (!(gamma > 0 && gamma <= 1))
      return invalid_argument("gamma (the largest share of input values JSMA may change) must be in (0, 1], got " +
                              std::to_string(gamma));
    const double theta = setting(p, "theta");
    if (theta == 0) return invalid_argument("theta (the change per selected value) must be nonzero");
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;  // deterministic
    x_adv = b.x0;
    const int64_t n = b.x0.dim(0);
    if (n == 0) return Status::Ok();
    const int64_t per = b.x0.numel() / n;
    const InputDomain domain = target.domain();
    const float theta = static_cast<float>(setting(p, "theta"));
    if (p.pixel_valid && domain.levels > 0 && std::fabs(theta) < domain.step())
      return invalid_argument("theta " + std::to_string(theta) + " is smaller than one input grid step (" +
                              std::to_string(domain.step()) + "); pixel-valid JSMA could never move a value");
    const int64_t budget = std::min<int64_t>(static_cast<int64_t>(p.eps),
                                             static_cast<int64_t>(std::floor(setting(p, "gamma") * per)));
    if (budget <= 0) return Status::Ok();
    const float dir = theta > 0 ? 1.0f : -1.0f;

    const bool targeted = !b.targets.empty();
    std::vector<int> targets(b.targets.begin(), b.targets.end());
    if (!targeted) {
      Tensor logits;
      SLING_RETURN_IF_ERROR(target.predict(b.x0, logits));
      const int64_t k = logits.dim(1);
      for (int64_t s = 0; s < n; ++s) {
        const float* z = logits.data() + s * k;
        int second = -1;
        for (int64_t j = 0; j < k; ++j)
          if (j != b.labels[s] && (second < 0 || z[j] > z[second])) second = static_cast<int>(j);
        targets.push_back(second);
      }
    }

    // Search domain: values not yet saturated in theta's direction.
    auto saturated = [&](float v) { return dir > 0 ? v >= domain.hi : v <= domain.lo; };
    std::vector<char> search(static_cast<size_t>(n * per)), changed(static_cast<size_t>(n * per), 0);
    for (int64_t i = 0; i < n * per; ++i) search[i] = !saturated(b.x0[i]);
    std::vector<int64_t> used(static_cast<size_t>(n), 0);
    std::vector<int64_t> active(static_cast<size_t>(n));
    std::iota(active.begin(), active.end(), 0);
    // Each iteration moves one value by at least |theta| or saturates it, so this bounds the loop.
    const int64_t max_steps = budget * static_cast<int64_t>(std::ceil((domain.hi - domain.lo) / std::fabs(theta))) + 1;

    Tensor batch, logits, value, grad;
    for (int64_t it = 0; !active.empty() && it <= max_steps; ++it) {
      const int64_t a = static_cast<int64_t>(active.size());
      Shape shape = b.x0.shape();
      shape[0] = a;
      batch.resize(shape);
      std::vector<int> rows_labels, rows_targets;
      for (int64_t r = 0; r < a; ++r) {
        std::copy(x_adv.data() + active[r] * per, x_adv.data() + (active[r] + 1) * per, batch.data() + r * per);
        rows_labels.push_back(b.labels[active[r]]);
        rows_targets.push_back(targets[active[r]]);
      }
      SLING_RETURN_IF_ERROR(target.predict(batch, logits));
      std::vector<int64_t> still;
      std::vector<int> still_rows;
      for (int64_t r = 0; r < a; ++r)
        if (targeted ? top1_class(logits, r) != rows_targets[r] : top1_class(logits, r) == rows_labels[r]) {
          still.push_back(active[r]);
          still_rows.push_back(static_cast<int>(r));
        }
      if (still.empty()) break;
      SLING_RETURN_IF_ERROR(
          target.loss_grad(batch, Objective{LossKind::kCrossEntropy, rows_labels, rows_targets}, value, grad));

      std::vector<int64_t> moving;
      for (size_t m = 0; m < still.size(); ++m) {
        const int64_t s = still[m];
        const float* g = grad.data() + static_cast<int64_t>(still_rows[m]) * per;
        const char* in = search.data() + s * per;
        const char* ch = changed.data() + s * per;
        // A value may join the pair if it is searchable and, when new, fits the budget.
        auto pick = [&](int64_t skip, int64_t room) {
          int64_t best = -1;
          for (int64_t i = 0; i < per; ++i) {
            if (!in[i] || i == skip || (!ch[i] && room <= 0)) continue;
            if (best < 0 || dir * g[i] > dir * g[best]) best = i;
          }
          return best;
        };
        const int64_t room = budget - used[s];
        const int64_t p1 = pick(-1, room);
        if (p1 < 0 || !(dir * g[p1] > 0)) continue;  // no salient value left: give up
        const int64_t p2 = pick(p1, room - (ch[p1] ? 0 : 1));
        moving.push_back(s);
        for (int64_t i : {p1, p2}) {
          if (i < 0 || (i == p2 && !(dir * (g[p1] + g[p2]) > 0))) continue;  // alpha_pq must stay positive
          const int64_t at = s * per + i;
          float v = std::clamp(x_adv[at] + theta, domain.lo, domain.hi);
          if (p.pixel_valid) v = domain.snap(v);
          if (v == x_adv[at] || saturated(v)) search[at] = 0;
          x_adv[at] = v;
          const bool now = v != b.x0[at];
          used[s] += static_cast<int64_t>(now) - static_cast<int64_t>(changed[at] != 0);
          changed[at] = now;
        }
      }
      active.swap(moving);
    }
    // The budget already keeps the L0 bound; this only guards the grid and range.
    project(x_adv, b.x0, Norm::kL0, p.eps, domain, p.pixel_valid);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_jsma_attack() { return std::make_unique<Jsma>(); }

}  // namespace slingshot
