// Boundary Attack (Brendel, Rauber & Bethge 2018, "Decision-Based Adversarial Attacks:
// Reliable Attacks Against Black-Box Machine Learning Models"), L2. From an adversarial
// start (random noise, blended toward x0 by a binary search) it walks along the decision
// boundary keeping only adversarial points. Each step draws a Gaussian perturbation,
// makes it orthogonal to the direction to x0 with relative size delta and projects the
// point back onto the sphere around x0 through the current point (orthogonal step), then
// moves the fraction epsilon toward x0 (source step). Both sizes adapt to their recent
// success rates: the orthogonal one toward about half adversarial, the source step up
// when more than half of the full steps stay adversarial and down below a fifth.
//
// Decision-based, so a minimal-perturbation search: it runs until the sample's query
// budget (max_queries) is spent (max_iter is not used), and returns its nearest adversarial
// point projected onto the eps-ball (eps = inf: the point itself). In pixel-valid mode the
// walk keeps a continuous iterate, queries its grid version, and reports grid points only.
// The deployed integer model quantizes its input, so on a gridded domain the orthogonal
// step is at least one grid step per value on average, and candidates the grid maps back
// onto the current point are not queried.
#include <algorithm>
#include <cmath>
#include <vector>

#include "attacks/attack.h"
#include "attacks/decision_based.h"

namespace slingshot {
namespace {

// The success rate of a block of steps; cleared after each adaptation.
struct Window {
  std::vector<char> hits;
  size_t next = 0, filled = 0;
  explicit Window(size_t size) : hits(size, 0) {}
  void add(bool hit) {
    hits[next] = hit;
    next = (next + 1) % hits.size();
    filled = std::min(filled + 1, hits.size());
  }
  bool full() const { return filled == hits.size(); }
  double rate() const {
    double s = 0;
    for (char h : hits) s += h;
    return s / static_cast<double>(hits.size());
  }
  void clear() { filled = 0; }
};

class Boundary final : public DecisionBasedAttack {
 public:
  const char* name() const override { return "boundary"; }
  std::vector<Norm> norms() const override { return {Norm::kL2}; }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "delta", .default_value = 0.01, .min = 0, .max = 1, .min_exclusive = true,
             .doc = "orthogonal step, relative to the distance to x0"},
        {.name = "epsilon", .default_value = 0.01, .min = 0, .max = 1, .min_exclusive = true, .max_exclusive = true,
         .doc = "step toward x0, relative"},
        {.name = "step_adapt", .default_value = 1.5, .min = 1, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
         .doc = "factor the step sizes adapt by"},
        {.name = "init_size", .kind = SettingKind::kInteger, .default_value = 100, .min = 1, .max = 1000000,
         .doc = "random starts tried for a first adversarial point"}};
  }
  Status check(const AttackParams& p) const override {
    const double delta = setting(p, "delta"), epsilon = setting(p, "epsilon");
    if (delta <= 0 || delta > 1) return invalid_argument("delta (orthogonal step, relative) must be in (0, 1]");
    if (epsilon <= 0 || epsilon >= 1) return invalid_argument("epsilon (step toward x0, relative) must be in (0, 1)");
    if (setting(p, "step_adapt") <= 1) return invalid_argument("step_adapt (step-size factor) must be > 1");
    if (setting(p, "init_size") < 1) return invalid_argument("init_size (random starts tried) must be >= 1");
    return Status::Ok();
  }

 private:
  Status search_sample(DecisionOracle& o, const AttackParams& p, Rng& rng, std::vector<float>& best) override {
    const int64_t n = o.sample_size();
    const float* x0 = o.x0();
    const InputDomain& dom = o.domain();
    double delta = setting(p, "delta"), epsilon = setting(p, "epsilon");
    const double adapt = setting(p, "step_adapt");
    const double min_orthogonal = o.gridded() ? dom.step() * std::sqrt(static_cast<double>(n)) : 0.0;

    std::vector<float> x;
    SLING_RETURN_IF_ERROR(find_random_adversarial(o, rng, static_cast<int64_t>(setting(p, "init_size")), x));
    if (x.empty()) return Status::Ok();
    SLING_RETURN_IF_ERROR(binary_search_to_boundary(o, Norm::kL2, 1e-3, x));
    best = x;
    double best_dist = norm_distance(x.data(), x0, n, Norm::kL2);
    // The walk's continuous iterate; `current` is the grid point the model read for it.
    std::vector<double> xc(x.begin(), x.end());
    std::vector<float> current = x;

    Window spherical(20), full(20);
    std::vector<double> eta(static_cast<size_t>(n)), sph(static_cast<size_t>(n));
    std::vector<float> pts(static_cast<size_t>(2 * n));
    std::vector<char> adv;
    // A cap on steps that spend nothing (candidates the grid maps back onto the current point).
    int64_t idle = 0;
    while (o.queries_left() > 0 && idle < 20000) {
      if (std::isfinite(p.eps) && best_dist <= p.eps) break;  // the ball holds an adversarial point already
      double r2 = 0;
      for (int64_t i = 0; i < n; ++i) r2 += (xc[i] - x0[i]) * (xc[i] - x0[i]);
      const double radius = std::sqrt(r2);
      if (radius == 0) break;
      // On a gridded domain an orthogonal step under one grid step per value moves only the
      // few values that sit near a rounding edge, which tells nothing about the boundary.
      delta = std::min(1.0, std::max(delta, min_orthogonal / radius));
      // Orthogonal step: a Gaussian draw without its component along x - x0, of length
      // delta * radius, then back onto the sphere of that radius around x0.
      double along = 0, e2 = 0;
      for (int64_t i = 0; i < n; ++i) {
        eta[i] = rng.normal();
        along += eta[i] * (xc[i] - x0[i]) / radius;
      }
      for (int64_t i = 0; i < n; ++i) {
        eta[i] -= along * (xc[i] - x0[i]) / radius;
        e2 += eta[i] * eta[i];
      }
      const double scale = delta * radius / std::sqrt(std::max(e2, 1e-30));
      double s2 = 0;
      for (int64_t i = 0; i < n; ++i) {
        sph[i] = xc[i] + scale * eta[i] - x0[i];
        s2 += sph[i] * sph[i];
      }
      const double back = radius / std::sqrt(s2);
      for (int64_t i = 0; i < n; ++i) sph[i] = std::clamp(x0[i] + sph[i] * back, double{dom.lo}, double{dom.hi});
      // Source step: the fraction epsilon of the way to x0.
      for (int64_t i = 0; i < n; ++i) {
        pts[i] = static_cast<float>(sph[i]);
        pts[n + i] = static_cast<float>(sph[i] + epsilon * (x0[i] - sph[i]));
      }
      o.place_in_domain(pts.data(), 2 * n);
      const bool sph_known = std::equal(current.begin(), current.end(), pts.begin());
      const bool full_known = std::equal(current.begin(), current.end(), pts.begin() + n);
      bool sph_adv = true, full_adv = true;
      if (sph_known && full_known) {
        ++idle;
      } else if (full_known || sph_known || o.queries_left() < 2) {
        // One query, for the candidate the grid does not map onto the current point; with a
        // single query left, the full step (the one that can be kept) stands for both.
        const bool ask_full = !full_known;
        std::vector<float> one(pts.begin() + (ask_full ? n : 0), pts.begin() + (ask_full ? 2 * n : n));
        SLING_ASSIGN_OR_RETURN(const bool a, o.decide_one(one));
        if (ask_full) full_adv = a;
        if (!ask_full || !sph_known) sph_adv = a;
      } else {
        SLING_RETURN_IF_ERROR(o.decide(pts, 2, adv));
        sph_adv = adv[0];
        full_adv = adv[1];
      }
      spherical.add(sph_adv);
      full.add(full_adv);
      if (full_adv) {
        for (int64_t i = 0; i < n; ++i) xc[i] = sph[i] + epsilon * (x0[i] - sph[i]);
        current.assign(pts.begin() + n, pts.end());
        const double d = norm_distance(current.data(), x0, n, Norm::kL2);
        if (d < best_dist) {
          best_dist = d;
          best = current;
        }
      }
      if (spherical.full()) {
        const double rate = spherical.rate();
        if (rate > 0.5) delta = std::min(1.0, delta * adapt);
        if (rate < 0.2) delta /= adapt;
        spherical.clear();
      }
      if (full.full()) {
        const double rate = full.rate();
        if (rate > 0.5) epsilon = std::min(0.5, epsilon * adapt);
        if (rate < 0.2) epsilon /= adapt;
        full.clear();
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_boundary_attack() { return std::make_unique<Boundary>(); }

}  // namespace slingshot
