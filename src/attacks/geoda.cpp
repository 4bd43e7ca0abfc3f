// GeoDA (Rahmati, Moosavi-Dezfooli, Frossard & Dai 2020, "GeoDA: a geometric framework
// for black-box adversarial attacks"), L2 and Linf. Near x0 the decision boundary is
// close to flat, so the minimal perturbation points along its normal. From an adversarial
// start it binary-searches to a boundary point, then each iteration estimates the normal
// there from the top-1 decisions at random probes around it (the sum of the probes
// weighted +1 if adversarial, -1 if not; probes drawn in a low-frequency DCT subspace),
// adds it to the running estimate, and moves to the boundary point along that direction
// from x0 (the direction itself for L2, its sign for Linf), found by growing the step
// until adversarial and a binary search back. The budget is split over iterations as the
// paper prescribes, N_i proportional to lambda^(-2i/3), with as many iterations as keep
// the first one at 50 probes or more.
//
// Decision-based, so a minimal-perturbation search: it runs until the sample's query
// budget (max_queries) is spent (max_iter is not used), and returns its nearest adversarial
// point projected onto the eps-ball (eps = inf: the point itself). Every query is on the
// 8-bit grid in pixel-valid mode. The deployed integer model quantizes its input, so on a
// gridded domain probes are at least one grid step per value on average.
#include <algorithm>
#include <cmath>
#include <vector>

#include "attacks/attack.h"
#include "attacks/decision_based.h"

namespace slingshot {
namespace {

// Random directions in the low-frequency block of the orthonormal 2-D DCT of each channel
// of an [H, W, C] image (the top-left fh x fw coefficients), or in the whole space.
class Directions {
 public:
  Directions(const Shape& batch_shape, double ratio) {
    n_ = 1;
    for (size_t i = 1; i < batch_shape.size(); ++i) n_ *= batch_shape[i];
    if (batch_shape.size() != 4 || ratio >= 1) return;
    h_ = batch_shape[1];
    w_ = batch_shape[2];
    c_ = batch_shape[3];
    fh_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio * static_cast<double>(h_))));
    fw_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(ratio * static_cast<double>(w_))));
    ch_ = basis(h_, fh_);
    cw_ = basis(w_, fw_);
    low_ = true;
  }

  // One direction (unnormalized) into `out` [n].
  void draw(Rng& rng, double* out) {
    if (!low_) {
      for (int64_t i = 0; i < n_; ++i) out[i] = rng.normal();
      return;
    }
    std::vector<double> z(static_cast<size_t>(fh_ * fw_)), tmp(static_cast<size_t>(fh_ * w_));
    for (int64_t c = 0; c < c_; ++c) {
      for (double& v : z) v = rng.normal();
      for (int64_t kh = 0; kh < fh_; ++kh)
        for (int64_t x = 0; x < w_; ++x) {
          double s = 0;
          for (int64_t kw = 0; kw < fw_; ++kw) s += z[kh * fw_ + kw] * cw_[x * fw_ + kw];
          tmp[kh * w_ + x] = s;
        }
      for (int64_t y = 0; y < h_; ++y)
        for (int64_t x = 0; x < w_; ++x) {
          double s = 0;
          for (int64_t kh = 0; kh < fh_; ++kh) s += ch_[y * fh_ + kh] * tmp[kh * w_ + x];
          out[(y * w_ + x) * c_ + c] = s;
        }
    }
  }

 private:
  // Inverse DCT-II rows: value at position p of frequency k, for k < f.
  static std::vector<double> basis(int64_t size, int64_t f) {
    std::vector<double> b(static_cast<size_t>(size * f));
    const double pi = 3.14159265358979323846;
    for (int64_t p = 0; p < size; ++p)
      for (int64_t k = 0; k < f; ++k)
        b[p * f + k] = std::sqrt((k == 0 ? 1.0 : 2.0) / static_cast<double>(size)) *
                       std::cos(pi * (2.0 * static_cast<double>(p) + 1.0) * static_cast<double>(k) / (2.0 * static_cast<double>(size)));
    return b;
  }

  int64_t n_ = 0, h_ = 0, w_ = 0, c_ = 0, fh_ = 0, fw_ = 0;
  bool low_ = false;
  std::vector<double> ch_, cw_;
};

// Probes per iteration: N_i proportional to lambda^(-2i/3) over T iterations sharing
// `budget` (less `reserve` each for its boundary search), with the largest T that leaves
// the first iteration 50 probes or more.
std::vector<int64_t> allocate(int64_t budget, int64_t reserve, double lambda) {
  std::vector<int64_t> best{std::max<int64_t>(0, budget - reserve)};
  for (int t = 2; t < 1000; ++t) {
    const int64_t spend = budget - static_cast<int64_t>(t) * reserve;
    if (spend <= 0) break;
    double sum = 0;
    for (int i = 0; i < t; ++i) sum += std::pow(lambda, -2.0 * i / 3.0);
    std::vector<int64_t> plan(static_cast<size_t>(t));
    for (int i = 0; i < t; ++i)
      plan[i] = static_cast<int64_t>(std::round(static_cast<double>(spend) * std::pow(lambda, -2.0 * i / 3.0) / sum));
    if (plan[0] < 50) break;
    best = plan;
  }
  return best;
}

class GeoDA final : public DecisionBasedAttack {
 public:
  const char* name() const override { return "geoda"; }
  std::vector<Norm> norms() const override { return {Norm::kL2, Norm::kLinf}; }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "dct_ratio", .default_value = 0.5, .min = 0, .max = 1, .min_exclusive = true,
             .doc = "share of each image side kept in the DCT subspace (1: full space)"},
        {.name = "lambda", .default_value = 0.6, .min = 0, .max = 1, .min_exclusive = true,
         .doc = "geometric ratio of the query allocation over iterations"},
        {.name = "sigma", .default_value = 0.0002, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true, .unit = "input",
         .doc = "probe size of the normal-vector estimate"},
        {.name = "init_size", .kind = SettingKind::kInteger, .default_value = 100, .min = 1, .max = 1000000,
         .doc = "random starts tried for a first adversarial point"}};
  }
  Status check(const AttackParams& p) const override {
    const double ratio = setting(p, "dct_ratio"), lambda = setting(p, "lambda");
    if (ratio <= 0 || ratio > 1)
      return invalid_argument("dct_ratio (share of each image side kept in the DCT subspace, 1: full space) must be in (0, 1]");
    if (lambda <= 0 || lambda > 1) return invalid_argument("lambda (query allocation ratio) must be in (0, 1]");
    if (setting(p, "sigma") <= 0) return invalid_argument("sigma (probe size) must be > 0");
    if (setting(p, "init_size") < 1) return invalid_argument("init_size (random starts tried) must be >= 1");
    return Status::Ok();
  }

 private:
  // Moves `x` to the boundary point on the ray from x0 along `dir`: from the best distance
  // so far, the step grows by half until adversarial, then a binary search comes back.
  // Leaves x as it was if no point on the ray is adversarial within the budget.
  static Status to_boundary(DecisionOracle& o, Norm norm, const std::vector<double>& dir, double start,
                            std::vector<float>& x) {
    const int64_t n = o.sample_size();
    const float* x0 = o.x0();
    std::vector<float> cand(static_cast<size_t>(n)), prev;
    double r = start;
    for (int tries = 0; tries < 12 && o.queries_left() > 0; ++tries, r *= 1.5) {
      for (int64_t i = 0; i < n; ++i) cand[i] = static_cast<float>(x0[i] + r * dir[i]);
      o.place_in_domain(cand.data(), n);
      if (cand == prev) break;  // clipped at the range: growing no longer moves the point
      prev = cand;
      SLING_ASSIGN_OR_RETURN(const bool a, o.decide_one(cand));
      if (!a) continue;
      x = cand;
      return binary_search_to_boundary(o, norm, 1e-3, x);
    }
    return Status::Ok();
  }

  Status search_sample(DecisionOracle& o, const AttackParams& p, Rng& rng, std::vector<float>& best) override {
    const int64_t n = o.sample_size();
    const float* x0 = o.x0();
    const bool l2 = p.norm == Norm::kL2;
    Directions directions(o.batch_shape(), setting(p, "dct_ratio"));
    // Probes of one grid step per value on average: a smaller one moves no input code.
    const double sigma = std::max(setting(p, "sigma"),
                                  o.gridded() ? o.domain().step() * std::sqrt(static_cast<double>(n)) : 0.0);
    // Queries kept back per iteration for its boundary search.
    const int64_t reserve = 15;

    std::vector<float> x;
    SLING_RETURN_IF_ERROR(find_random_adversarial(o, rng, static_cast<int64_t>(setting(p, "init_size")), x));
    if (x.empty()) return Status::Ok();
    SLING_RETURN_IF_ERROR(binary_search_to_boundary(o, p.norm, 1e-3, x));
    best = x;
    double best_dist = norm_distance(x.data(), x0, n, p.norm);

    const std::vector<int64_t> plan = allocate(o.queries_left(), reserve, setting(p, "lambda"));
    std::vector<double> normal_sum(static_cast<size_t>(n), 0.0), dir(static_cast<size_t>(n)), eta(static_cast<size_t>(n));
    std::vector<float> probes;
    std::vector<char> adv;
    for (size_t it = 0;; ++it) {
      if (std::isfinite(p.eps) && best_dist <= p.eps) break;  // the ball holds an adversarial point already
      // After the plan, spend what the boundary searches left over at the last rate.
      const int64_t probes_n = std::min(plan[std::min(it, plan.size() - 1)], o.queries_left() - reserve);
      if (probes_n < 2) break;
      probes.resize(static_cast<size_t>(probes_n * n));
      for (int64_t j = 0; j < probes_n; ++j) {
        directions.draw(rng, eta.data());
        double e2 = 0;
        for (double v : eta) e2 += v * v;
        const double scale = sigma / std::sqrt(std::max(e2, 1e-30));
        for (int64_t i = 0; i < n; ++i) probes[j * n + i] = static_cast<float>(x[i] + scale * eta[i]);
      }
      SLING_RETURN_IF_ERROR(o.decide(probes, probes_n, adv));
      std::vector<double> normal(static_cast<size_t>(n), 0.0);
      for (int64_t j = 0; j < probes_n; ++j) {
        const double f = adv[j] ? 1.0 : -1.0;
        for (int64_t i = 0; i < n; ++i) normal[i] += f * (static_cast<double>(probes[j * n + i]) - x[i]);
      }
      double nn = 0;
      for (double v : normal) nn += v * v;
      if (nn == 0) continue;  // every probe snapped back onto x
      nn = std::sqrt(nn);
      for (int64_t i = 0; i < n; ++i) normal_sum[i] += normal[i] / nn;
      double sn = 0;
      for (double v : normal_sum) sn += v * v;
      sn = std::sqrt(sn);
      if (sn == 0) continue;
      for (int64_t i = 0; i < n; ++i)
        dir[i] = l2 ? normal_sum[i] / sn : (normal_sum[i] > 0 ? 1.0 : normal_sum[i] < 0 ? -1.0 : 0.0);
      SLING_RETURN_IF_ERROR(to_boundary(o, p.norm, dir, best_dist, x));
      const double d = norm_distance(x.data(), x0, n, p.norm);
      if (d < best_dist) {
        best_dist = d;
        best = x;
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_geoda_attack() { return std::make_unique<GeoDA>(); }

}  // namespace slingshot
