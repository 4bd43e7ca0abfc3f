// SimBA (Guo, Gardner, You, Wilson & Weinberger, ICML 2019): simple black-box attack.
// Walks an orthonormal basis in random order; for each direction q it tries x + e q,
// then x - e q, and keeps the first that lowers the softmax probability of the true
// class (targeted: raises the target's). The step e is the `epsilon` setting (0.2, the
// paper's); every trial is projected onto the eps-ball (L2 or Linf), the range and, in
// pixel-valid mode, the grid, from a continuous state.
//   basis 0: pixels (SimBA); basis 1: the 2-D DCT per channel (SimBA-DCT), low
//   frequencies first (rings max(u, v) in increasing order, random within a ring).
// A sample stops when it succeeds, when its queries reach max_queries (max_iter is not
// used), or when a whole pass over the basis changed nothing (no trial can help then).
// Trials that the projection maps onto the current point are not queried.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <string>
#include <vector>

#include "attacks/score_based.h"

namespace slingshot {
namespace {

// What SimBA ascends: -p_y (untargeted) or p_t (targeted), softmax of row `row` of the logits.
double score(const ScoreOracle& oracle, int64_t s, const Tensor& logits, int64_t row) {
  const int64_t k = logits.dim(1);
  const float* z = logits.data() + row * k;
  const int y = oracle.label(s), t = oracle.target_class(s);
  const float m = *std::max_element(z, z + k);
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j] - m));
  const int c = t >= 0 ? t : y;
  const double prob = std::exp(static_cast<double>(z[c] - m)) / sum;
  return t >= 0 ? prob : -prob;
}

class Simba final : public ScoreBasedAttack {
 public:
  const char* name() const override { return "simba"; }
  std::vector<Norm> norms() const override { return {Norm::kL2, Norm::kLinf}; }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "epsilon", .default_value = 0.2, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true, .unit = "input",
             .doc = "step along each basis vector"},
        {.name = "basis", .kind = SettingKind::kChoice, .default_value = 0, .choices = {"pixels", "dct"},
         .doc = "basis searched: single pixels or low-frequency DCT"}};
  }
  Status check(const AttackParams& p) const override {
    const double e = setting(p, "epsilon");
    if (!(e > 0)) return invalid_argument("simba: epsilon (the step along each basis vector) must be > 0, got " + std::to_string(e));
    const double basis = setting(p, "basis");
    if (basis != 0 && basis != 1)
      return invalid_argument("simba: basis must be 0 (pixels) or 1 (DCT), got " + std::to_string(basis));
    return Status::Ok();
  }

 protected:
  Status search(ScoreOracle& oracle, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    const Tensor& x0 = oracle.clean_batch();
    const int64_t n = oracle.num_samples(), per = oracle.sample_size();
    // [H, W, C] per sample; 1-D inputs are one row.
    const SampleGeometry g = sample_geometry(x0.shape());
    const int64_t h = g.h, w = g.w, c = g.c;
    const bool dct = setting(p, "basis") == 1;
    const float step = static_cast<float>(setting(p, "epsilon"));

    // Orthonormal DCT-II tables: cos_h[u * h + i] = a_u cos(pi (2i + 1) u / 2h).
    auto table = [](int64_t len) {
      std::vector<float> t(static_cast<size_t>(len * len));
      for (int64_t u = 0; u < len; ++u)
        for (int64_t i = 0; i < len; ++i)
          t[u * len + i] = static_cast<float>((u == 0 ? std::sqrt(1.0 / len) : std::sqrt(2.0 / len)) *
                                              std::cos(std::numbers::pi * (2.0 * i + 1.0) * u / (2.0 * len)));
      return t;
    };
    const std::vector<float> cos_h = dct ? table(h) : std::vector<float>(), cos_w = dct ? table(w) : std::vector<float>();

    // Each sample walks its own random order of the basis.
    auto draw_order = [&](std::vector<int32_t>& order) {
      order.resize(static_cast<size_t>(per));
      std::iota(order.begin(), order.end(), 0);
      for (int64_t i = per - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint32_t>(i + 1))]);
      if (dct) {
        // Basis index = (u * w + v) * c + channel; low-frequency rings first.
        std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t bb) {
          const int64_t fa = a / c, fb = bb / c;
          return std::max(fa / w, fa % w) < std::max(fb / w, fb % w);
        });
      }
    };
    auto add_direction = [&](float* x, int32_t index, float alpha) {
      if (!dct) {
        x[index] += alpha;
        return;
      }
      const int64_t ch = index % c, f = index / c, u = f / w, v = f % w;
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j) x[(i * w + j) * c + ch] += alpha * cos_h[u * h + i] * cos_w[v * w + j];
    };

    Tensor cont = x0, cur = x0, logits;
    x_adv = x0;
    if (n == 0 || per == 0) return Status::Ok();
    SLING_RETURN_IF_ERROR(oracle.query_each(cur, logits));
    std::vector<int64_t> pos(static_cast<size_t>(n), 0);
    std::vector<double> best(static_cast<size_t>(n));
    std::vector<bool> done(static_cast<size_t>(n)), changed(static_cast<size_t>(n), false);
    std::vector<std::vector<int32_t>> order(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s) {
      best[s] = score(oracle, s, logits, s);
      done[s] = oracle.succeeded(s, logits, s);
      draw_order(order[s]);
    }

    std::vector<float> trial_cont(static_cast<size_t>(per)), trial(static_cast<size_t>(per));
    std::vector<int64_t> rows, pending;
    std::vector<float> batch, batch_cont;
    for (;;) {
      pending.clear();
      for (int64_t s = 0; s < n; ++s)
        if (!done[s] && !oracle.out_of_queries(s)) pending.push_back(s);
      if (pending.empty()) break;
      // +e first, then -e for the samples it did not help.
      for (float sign : {1.0f, -1.0f}) {
        rows.clear();
        batch.clear();
        batch_cont.clear();
        std::vector<int64_t> next;
        for (int64_t s : pending) {
          if (oracle.out_of_queries(s)) continue;
          std::copy(cont.data() + s * per, cont.data() + (s + 1) * per, trial_cont.begin());
          add_direction(trial_cont.data(), order[s][pos[s]], sign * step);
          oracle.project_sample(s, trial_cont.data(), false);
          trial = trial_cont;
          if (p.pixel_valid) oracle.project_sample(s, trial.data(), true);
          if (std::equal(trial.begin(), trial.end(), cur.data() + s * per)) {
            next.push_back(s);  // the projection undid the step: nothing to learn
            continue;
          }
          rows.push_back(s);
          batch.insert(batch.end(), trial.begin(), trial.end());
          batch_cont.insert(batch_cont.end(), trial_cont.begin(), trial_cont.end());
        }
        if (!rows.empty()) {
          Shape qs = x0.shape();
          qs[0] = static_cast<int64_t>(rows.size());
          Tensor queries(qs, batch);
          SLING_RETURN_IF_ERROR(oracle.query(rows, queries, logits));
          for (size_t r = 0; r < rows.size(); ++r) {
            const int64_t s = rows[r];
            const double v = score(oracle, s, logits, static_cast<int64_t>(r));
            if (v > best[s]) {
              best[s] = v;
              std::copy(queries.data() + r * per, queries.data() + (r + 1) * per, cur.data() + s * per);
              std::copy(batch_cont.begin() + r * per, batch_cont.begin() + (r + 1) * per, cont.data() + s * per);
              done[s] = oracle.succeeded(s, logits, static_cast<int64_t>(r));
              changed[s] = true;
            } else {
              next.push_back(s);
            }
          }
        }
        pending.swap(next);
      }
      // Advance every sample that was active this round; a pass without change ends it.
      for (int64_t s = 0; s < n; ++s) {
        if (done[s] || oracle.out_of_queries(s)) continue;
        if (++pos[s] < per) continue;
        if (!changed[s]) {
          done[s] = true;  // stalled: every trial of the pass was tried at this very point
          continue;
        }
        pos[s] = 0;
        changed[s] = false;
        draw_order(order[s]);
      }
    }
    x_adv = std::move(cur);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_simba_attack() { return std::make_unique<Simba>(); }

}  // namespace slingshot
