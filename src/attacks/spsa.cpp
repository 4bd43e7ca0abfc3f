// SPSA (Uesato, O'Donoghue, van den Oord & Kohli, ICML 2018; Spall 1992): simultaneous
// perturbation stochastic approximation of the gradient of the margin loss (C&W's, on the
// logits, as in the paper). Each iteration draws `num_samples` Rademacher directions v
// and estimates g = mean_v (f(x + delta v) - f(x - delta v)) / (2 delta) * v from two
// queries per direction, then ascends it with Adam (adam=1: beta1 0.9, beta2 0.999,
// learning rate eps_step or 0.01) or with signed steps of eps_step (adam=0; default
// eps / 4), and projects onto the eps-ball (Linf, or L2) from a continuous state. In
// pixel-valid mode delta is rounded to whole grid steps (at least one), so every query
// is a real image. One more query per iteration checks the new point and stops a sample
// once it succeeds; no sample exceeds max_queries (max_iter is not used).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attacks/score_based.h"

namespace slingshot {
namespace {

class Spsa final : public ScoreBasedAttack {
 public:
  const char* name() const override { return "spsa"; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = true;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "delta", .default_value = 0.01, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true, .unit = "input",
             .doc = "size of each +/- probe (rounded to whole grid steps in pixel-valid mode)"},
        {.name = "num_samples", .kind = SettingKind::kInteger, .default_value = 32, .min = 1, .max = 1000000,
         .doc = "random directions per gradient estimate"},
        {.name = "adam", .kind = SettingKind::kBoolean, .default_value = 1,
         .doc = "Adam steps (1) or signed gradient steps (0)"}};
  }
  Status check(const AttackParams& p) const override {
    const double delta = setting(p, "delta");
    if (!(delta > 0)) return invalid_argument("spsa: delta (the perturbation size) must be > 0, got " + std::to_string(delta));
    const double samples = setting(p, "num_samples");
    if (!(samples >= 1) || samples != std::floor(samples))
      return invalid_argument("spsa: num_samples (directions per iteration) must be a whole number >= 1, got " +
                              std::to_string(samples));
    const double adam = setting(p, "adam");
    if (adam != 0 && adam != 1)
      return invalid_argument("spsa: adam must be 1 (Adam steps) or 0 (signed steps), got " + std::to_string(adam));
    return Status::Ok();
  }

 protected:
  Status search(ScoreOracle& oracle, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    const InputDomain& d = oracle.domain();
    const int64_t n = oracle.num_samples(), per = oracle.sample_size();
    const int64_t directions = static_cast<int64_t>(setting(p, "num_samples"));
    const double delta = setting(p, "delta");
    const bool adam = setting(p, "adam") == 1;
    ProbeOffset probe{d, p.pixel_valid && d.levels > 0, 0.0f, static_cast<float>(delta)};
    if (probe.on_grid) probe.grid_steps = std::max(1.0f, std::round(static_cast<float>(delta) * d.levels));
    const double applied = probe.on_grid ? probe.grid_steps / d.levels : delta;
    const float lr = p.eps_step > 0 ? p.eps_step : adam ? 0.01f : p.eps / 4;

    std::vector<float> m(static_cast<size_t>(n * per), 0.0f), v(m.size(), 0.0f);
    std::vector<int32_t> steps(static_cast<size_t>(n), 0);
    std::vector<double> grad(static_cast<size_t>(per));
    std::vector<int8_t> signs;
    Shape row_shape = oracle.batch_shape();
    Tensor logits;
    auto step = [&](int64_t s, int64_t count, const float* xs, float* xc) -> Status {
      row_shape[0] = 2 * count;
      Tensor q(row_shape);
      signs.resize(static_cast<size_t>(count * per));
      for (int64_t j = 0; j < count; ++j) {
        float* plus = q.data() + (2 * j) * per;
        float* minus = plus + per;
        int8_t* sj = signs.data() + j * per;
        for (int64_t i = 0; i < per; ++i) {
          sj[i] = rng.uniform() < 0.5f ? -1 : 1;
          plus[i] = probe.apply(xs[i], sj[i]);
          minus[i] = probe.apply(xs[i], -sj[i]);
        }
      }
      SLING_RETURN_IF_ERROR(oracle.query_sample(s, q, logits));
      std::fill(grad.begin(), grad.end(), 0.0);
      for (int64_t j = 0; j < count; ++j) {
        const double fp = oracle.margin(s, logits, 2 * j);
        const double fm = oracle.margin(s, logits, 2 * j + 1);
        const double c = (fp - fm) / (2 * applied * static_cast<double>(count));
        if (c == 0) continue;
        const int8_t* sj = signs.data() + j * per;
        for (int64_t i = 0; i < per; ++i) grad[i] += c * sj[i];
      }
      if (adam) {
        const AdamCorrections corrections = adam_corrections(++steps[s]);
        for (int64_t i = 0; i < per; ++i) xc[i] += adam_move(m[s * per + i], v[s * per + i], grad[i], corrections, lr);
      } else {
        for (int64_t i = 0; i < per; ++i) xc[i] += lr * static_cast<float>((grad[i] > 0) - (grad[i] < 0));
      }
      return Status::Ok();
    };
    return ascend_by_probe_pairs(oracle, p, directions, step, x_adv);
  }
};

}  // namespace

std::unique_ptr<Attack> make_spsa_attack() { return std::make_unique<Spsa>(); }

}  // namespace slingshot
