// Score-based attack building blocks (see score_based.h).
#include "attacks/score_based.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attacks/gradient_steps.h"

namespace slingshot {

float margin_loss(const float* logits, int64_t classes, int label, int target) {
  const int c = target >= 0 ? target : label;
  float other = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < classes; ++j)
    if (j != c) other = std::max(other, logits[j]);
  return target >= 0 ? logits[c] - other : other - logits[c];
}

bool is_success(const float* logits, int64_t classes, int label, int target) {
  const int64_t top = std::max_element(logits, logits + classes) - logits;
  return target >= 0 ? top == target : top != label;
}

SampleGeometry sample_geometry(const Shape& s) {
  int64_t values = 1;
  for (size_t i = 1; i < s.size(); ++i) values *= s[i];
  if (s.size() == 4) return {s[1], s[2], s[3]};
  if (s.size() == 3) return {1, s[1], s[2]};
  return {1, values, 1};
}

ScoreOracle::ScoreOracle(Target& target, const AttackBatch& batch, const AttackParams& p)
    : target_(target),
      batch_(batch),
      domain_(target.domain()),
      norm_(p.norm),
      eps_(p.eps),
      pixel_valid_(p.pixel_valid),
      max_queries_(p.max_queries) {
  num_samples_ = batch.x0.dim(0);
  sample_size_ = num_samples_ ? batch.x0.numel() / num_samples_ : 0;
  used_.assign(static_cast<size_t>(num_samples_), 0);
}

void ScoreOracle::project_sample(int64_t s, float* x, bool onto_grid) const {
  const int64_t n = sample_size_;
  const float* x0 = clean_sample(s);
  Tensor xs({1, n}, std::vector<float>(x, x + n)), x0s({1, n}, std::vector<float>(x0, x0 + n));
  project(xs, x0s, norm_, eps_, domain_, onto_grid);
  std::copy(xs.data(), xs.data() + n, x);
}

Status ScoreOracle::predict_placed(Tensor& points, Tensor& logits) {
  float* x = points.data();
  for (int64_t i = 0; i < points.numel(); ++i)
    x[i] = pixel_valid_ ? domain_.snap(x[i]) : std::clamp(x[i], domain_.lo, domain_.hi);
  return target_.predict(points, logits);
}

Status ScoreOracle::query(std::span<const int64_t> samples, Tensor& points, Tensor& logits) {
  if (points.dim(0) != static_cast<int64_t>(samples.size()))
    return internal_error("a score-based attack queried points without naming one sample per point");
  for (int64_t s : samples)
    if (out_of_queries(s)) return internal_error("a score-based attack asked for more queries than a sample's budget holds");
  SLING_RETURN_IF_ERROR(predict_placed(points, logits));
  for (int64_t s : samples) ++used_[s];
  return Status::Ok();
}

Status ScoreOracle::query_each(Tensor& points, Tensor& logits) {
  std::vector<int64_t> all(static_cast<size_t>(num_samples_));
  for (int64_t s = 0; s < num_samples_; ++s) all[s] = s;
  return query(all, points, logits);
}

Status ScoreOracle::query_sample(int64_t s, Tensor& points, Tensor& logits) {
  if (points.dim(0) > queries_left(s))
    return internal_error("a score-based attack asked for more queries than a sample's budget holds");
  SLING_RETURN_IF_ERROR(predict_placed(points, logits));
  used_[s] += points.dim(0);
  return Status::Ok();
}

float ScoreOracle::margin(int64_t s, const Tensor& logits, int64_t row) const {
  const int64_t k = logits.dim(1);
  return margin_loss(logits.data() + row * k, k, label(s), target_class(s));
}

bool ScoreOracle::succeeded(int64_t s, const Tensor& logits, int64_t row) const {
  const int64_t k = logits.dim(1);
  return is_success(logits.data() + row * k, k, label(s), target_class(s));
}

Status ScoreBasedAttack::run(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng, Tensor& x_adv) {
  ScoreOracle oracle(target, batch, p);
  return search(oracle, p, rng, x_adv);
}

AdamCorrections adam_corrections(int32_t t) {
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999;
  return {1 - std::pow(kBeta1, t), 1 - std::pow(kBeta2, t)};
}

float adam_move(float& m, float& v, double g, const AdamCorrections& c, float lr) {
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kTiny = 1e-8;
  m = static_cast<float>(kBeta1 * m + (1 - kBeta1) * g);
  v = static_cast<float>(kBeta2 * v + (1 - kBeta2) * g * g);
  return static_cast<float>(lr * (m / c.first) / (std::sqrt(v / c.second) + kTiny));
}

Status ascend_by_probe_pairs(ScoreOracle& oracle, const AttackParams& p, int64_t max_pairs, const ProbePairStep& step,
                             Tensor& x_adv) {
  const Tensor& x0 = oracle.clean_batch();
  const int64_t n = oracle.num_samples(), per = oracle.sample_size();
  x_adv = x0;
  if (n == 0 || per == 0) return Status::Ok();
  Tensor cont = x0, cur = x0, logits;
  std::vector<bool> done(static_cast<size_t>(n), false);
  Shape row_shape = x0.shape();
  std::vector<int64_t> moved;
  for (;;) {
    moved.clear();
    for (int64_t s = 0; s < n; ++s) {
      // Two queries per pair, one to check the new point.
      const int64_t pairs = std::min(max_pairs, (oracle.queries_left(s) - 1) / 2);
      if (done[s] || pairs < 1) continue;
      SLING_RETURN_IF_ERROR(step(s, pairs, cur.data() + s * per, cont.data() + s * per));
      moved.push_back(s);
    }
    if (moved.empty()) break;
    row_shape[0] = static_cast<int64_t>(moved.size());
    Tensor c(row_shape), x0s(row_shape), e;
    for (size_t r = 0; r < moved.size(); ++r) {
      std::copy(cont.data() + moved[r] * per, cont.data() + (moved[r] + 1) * per, c.data() + r * per);
      std::copy(x0.data() + moved[r] * per, x0.data() + (moved[r] + 1) * per, x0s.data() + r * per);
    }
    project_iterate(c, e, x0s, p.norm, p.eps, oracle.domain(), p.pixel_valid);
    SLING_RETURN_IF_ERROR(oracle.query(moved, e, logits));
    for (size_t r = 0; r < moved.size(); ++r) {
      const int64_t s = moved[r];
      std::copy(c.data() + r * per, c.data() + (r + 1) * per, cont.data() + s * per);
      std::copy(e.data() + r * per, e.data() + (r + 1) * per, cur.data() + s * per);
      done[s] = oracle.succeeded(s, logits, static_cast<int64_t>(r));
    }
  }
  x_adv = std::move(cur);
  return Status::Ok();
}

}  // namespace slingshot
