// HopSkipJumpAttack (Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: A Query-Efficient
// Decision-Based Attack"), L2 and Linf. From an adversarial start it repeats: a binary
// search to the decision boundary between x0 and the current point, a Monte-Carlo estimate
// of the boundary's normal from the top-1 decisions at random points around it
// (sum of phi(x + delta u) u with a baseline), a step along it (sign of it for Linf) whose
// size dist / sqrt(t) is halved until the point is adversarial, then the next binary
// search. The paper's schedules: delta = sqrt(d) theta dist_{t-1} (L2) or d theta dist_{t-1}
// (Linf), theta = gamma / d^{3/2} (L2) or gamma / d^2 (Linf), and init_num_evals * sqrt(t)
// estimation samples capped at max_num_evals.
//
// Decision-based, so a minimal-perturbation search: it runs until the sample's query
// budget (max_queries) is spent (max_iter is not used), and returns its nearest adversarial
// point projected onto the eps-ball (eps = inf: the point itself). Every query is on the
// 8-bit grid in pixel-valid mode. The deployed integer model quantizes its input, so on a
// gridded domain the estimation probes are at least one grid step per value on average
// (smaller ones would not move a single input code).
#include <algorithm>
#include <cmath>
#include <vector>

#include "attacks/attack.h"
#include "attacks/decision_based.h"

namespace slingshot {
namespace {

class HopSkipJump final : public DecisionBasedAttack {
 public:
  const char* name() const override { return "hopskipjump"; }
  std::vector<Norm> norms() const override { return {Norm::kL2, Norm::kLinf}; }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "init_eval", .kind = SettingKind::kInteger, .default_value = 100, .min = 1, .max = 1000000,
             .doc = "samples of the first gradient-direction estimate"},
        {.name = "max_eval", .kind = SettingKind::kInteger, .default_value = 10000, .min = 1, .max = 1000000,
         .doc = "cap on the estimate samples (must be >= init_eval)"},
        {.name = "gamma", .default_value = 1, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
         .doc = "scale of the binary-search threshold"},
        {.name = "init_size", .kind = SettingKind::kInteger, .default_value = 100, .min = 1, .max = 1000000,
         .doc = "random starts tried for a first adversarial point"}};
  }
  Status check(const AttackParams& p) const override {
    if (setting(p, "init_eval") < 1) return invalid_argument("init_eval (first estimation samples) must be >= 1");
    if (setting(p, "max_eval") < setting(p, "init_eval"))
      return invalid_argument("max_eval (estimation samples cap) must be >= init_eval");
    if (setting(p, "gamma") <= 0) return invalid_argument("gamma (binary-search threshold scale) must be > 0");
    if (setting(p, "init_size") < 1) return invalid_argument("init_size (random starts tried) must be >= 1");
    return Status::Ok();
  }

 private:
  Status search_sample(DecisionOracle& o, const AttackParams& p, Rng& rng, std::vector<float>& best) override {
    const int64_t n = o.sample_size();
    const double d = static_cast<double>(n);
    const bool l2 = p.norm == Norm::kL2;
    const double init_eval = setting(p, "init_eval"), max_eval = setting(p, "max_eval");
    const double theta = setting(p, "gamma") / (l2 ? d * std::sqrt(d) : d * d);
    // Probes of one grid step per value on average: a smaller one moves no input code.
    const double min_delta = o.gridded() ? o.domain().step() * std::sqrt(d) : 0.0;
    const double range = o.domain().hi - o.domain().lo;
    // Queries kept back for the step-size and binary searches of an iteration.
    const int64_t reserve = 24;

    std::vector<float> x;
    SLING_RETURN_IF_ERROR(find_random_adversarial(o, rng, static_cast<int64_t>(setting(p, "init_size")), x));
    if (x.empty()) return Status::Ok();
    SLING_RETURN_IF_ERROR(binary_search_to_boundary(o, p.norm, theta, x));
    best = x;
    double dist_t = norm_distance(x.data(), o.x0(), n, p.norm), best_dist = dist_t;

    std::vector<float> probes, rv(static_cast<size_t>(n)), cand(static_cast<size_t>(n));
    std::vector<double> grad(static_cast<size_t>(n));
    std::vector<char> adv;
    for (int t = 1;; ++t) {
      if (std::isfinite(p.eps) && best_dist <= p.eps) break;  // the ball holds an adversarial point already
      const int64_t evals = std::min<int64_t>(static_cast<int64_t>(std::min(init_eval * std::sqrt(t), max_eval)),
                                              o.queries_left() - reserve);
      if (evals < 2) break;
      double delta = t == 1 ? 0.1 * range : (l2 ? std::sqrt(d) : d) * theta * dist_t;
      delta = std::max(delta, min_delta);

      // Monte-Carlo estimate of the boundary normal at x: unit random directions, the
      // clipped (and snapped) probes' actual offsets, decisions +1 / -1 less their mean.
      probes.resize(static_cast<size_t>(evals * n));
      for (int64_t j = 0; j < evals; ++j) {
        double norm2 = 0;
        for (int64_t i = 0; i < n; ++i) {
          rv[i] = l2 ? rng.normal() : rng.uniform(-1.0f, 1.0f);
          norm2 += static_cast<double>(rv[i]) * rv[i];
        }
        const double scale = delta / std::sqrt(std::max(norm2, 1e-30));
        for (int64_t i = 0; i < n; ++i) probes[j * n + i] = static_cast<float>(x[i] + scale * rv[i]);
      }
      SLING_RETURN_IF_ERROR(o.decide(probes, evals, adv));
      double mean = 0;
      for (char a : adv) mean += a ? 1.0 : -1.0;
      mean /= static_cast<double>(evals);
      std::fill(grad.begin(), grad.end(), 0.0);
      for (int64_t j = 0; j < evals; ++j) {
        // All one decision: the paper's fallback is the mean direction with that sign.
        const double f = std::fabs(mean) == 1.0 ? mean : (adv[j] ? 1.0 : -1.0) - mean;
        for (int64_t i = 0; i < n; ++i) grad[i] += f * (static_cast<double>(probes[j * n + i]) - x[i]);
      }
      double gnorm = 0;
      for (double g : grad) gnorm += g * g;
      gnorm = std::sqrt(gnorm);
      if (gnorm == 0) continue;  // every probe snapped back onto x; the next delta is no smaller, so draw again
      for (double& g : grad) g = l2 ? g / gnorm : (g > 0 ? 1.0 : g < 0 ? -1.0 : 0.0);

      // Geometric step-size search from dist / sqrt(t), halving until adversarial.
      double eps = dist_t / std::sqrt(static_cast<double>(t));
      bool moved = false;
      while (o.queries_left() > 0) {
        for (int64_t i = 0; i < n; ++i) cand[i] = static_cast<float>(x[i] + eps * grad[i]);
        o.place_in_domain(cand.data(), n);
        if (cand == x) break;  // the step no longer moves an input value
        SLING_ASSIGN_OR_RETURN(const bool a, o.decide_one(cand));
        if (a) {
          moved = true;
          break;
        }
        eps *= 0.5;
      }
      if (!moved) {
        if (o.queries_left() == 0) break;
        continue;
      }
      x = cand;
      SLING_RETURN_IF_ERROR(binary_search_to_boundary(o, p.norm, theta, x));
      dist_t = norm_distance(x.data(), o.x0(), n, p.norm);
      if (dist_t < best_dist) {
        best_dist = dist_t;
        best = x;
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_hopskipjump_attack() { return std::make_unique<HopSkipJump>(); }

}  // namespace slingshot
