// Decision-based attack building blocks (see decision_based.h).
#include "attacks/decision_based.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slingshot {
namespace {

// The first largest logit wins, as in the evaluation.
int first_argmax(const float* logits, int64_t classes) {
  int best = 0;
  for (int64_t j = 1; j < classes; ++j)
    if (logits[j] > logits[best]) best = static_cast<int>(j);
  return best;
}

}  // namespace

DecisionOracle::DecisionOracle(Target& target, const AttackBatch& batch, const AttackParams& p, int64_t sample)
    : target_(target), shape_(batch.x0.shape()), domain_(target.domain()), pixel_valid_(p.pixel_valid) {
  n_ = batch.x0.dim(0) ? batch.x0.numel() / batch.x0.dim(0) : 0;
  x0_ = batch.x0.data() + sample * n_;
  label_ = batch.labels[sample];
  target_class_ = batch.targets.empty() ? -1 : batch.targets[sample];
  queries_left_ = p.max_queries;
}

void DecisionOracle::place_in_domain(float* x, int64_t count) const {
  for (int64_t i = 0; i < count; ++i)
    x[i] = pixel_valid_ ? domain_.snap(x[i]) : std::clamp(x[i], domain_.lo, domain_.hi);
}

Status DecisionOracle::decide(std::vector<float>& points, int64_t count, std::vector<char>& adversarial) {
  if (count > queries_left_)
    return internal_error("a decision-based attack asked for more queries than its budget holds");
  place_in_domain(points.data(), count * n_);
  Shape s = shape_;
  s[0] = count;
  Tensor batch(s, std::vector<float>(points.begin(), points.begin() + count * n_)), logits;
  SLING_RETURN_IF_ERROR(target_.predict(batch, logits));
  queries_left_ -= count;
  const int64_t classes = logits.dim(1);
  adversarial.assign(static_cast<size_t>(count), 0);
  for (int64_t r = 0; r < count; ++r) {
    const int top = first_argmax(logits.data() + r * classes, classes);
    adversarial[r] = target_class_ >= 0 ? top == target_class_ : top != label_;
  }
  return Status::Ok();
}

Result<bool> DecisionOracle::decide_one(std::vector<float>& x) {
  std::vector<char> adversarial;
  SLING_RETURN_IF_ERROR(decide(x, 1, adversarial));
  return adversarial[0] != 0;
}

double norm_distance(const float* a, const float* b, int64_t n, Norm norm) {
  return distortion_norm(distortion(a, b, n), norm);
}

Status find_random_adversarial(DecisionOracle& oracle, Rng& rng, int64_t tries, std::vector<float>& out) {
  out.clear();
  const int64_t n = oracle.sample_size();
  const InputDomain& d = oracle.domain();
  std::vector<float> pts;
  std::vector<char> adv;
  for (int64_t first = 0; first < tries && oracle.queries_left() > 0; first += 10) {
    const int64_t k = std::min({int64_t{10}, tries - first, oracle.queries_left()});
    pts.assign(static_cast<size_t>(k * n), 0.0f);
    for (int64_t c = 0; c < k; ++c) {
      const int64_t index = first + c;
      const float size = (d.hi - d.lo) * static_cast<float>(index + 1) / static_cast<float>(tries);
      float* pt = pts.data() + c * n;
      const Shape& s = oracle.batch_shape();
      if (index % 3 == 2 && s.size() == 4) {
        const int64_t block = int64_t{2} << ((index / 3) % 3), h = s[1], w = s[2], ch = s[3];
        for (int64_t by = 0; by < h; by += block)
          for (int64_t bx = 0; bx < w; bx += block)
            for (int64_t k = 0; k < ch; ++k) {
              const float v = rng.uniform(d.lo, d.hi);
              for (int64_t y = by; y < std::min(h, by + block); ++y)
                for (int64_t x = bx; x < std::min(w, bx + block); ++x) pt[(y * w + x) * ch + k] = v;
            }
      } else {
        for (int64_t i = 0; i < n; ++i)
          pt[i] = index % 3 == 0 ? rng.uniform(d.lo, d.hi) : oracle.x0()[i] + rng.uniform(-size, size);
      }
    }
    SLING_RETURN_IF_ERROR(oracle.decide(pts, k, adv));
    double best = std::numeric_limits<double>::infinity();
    for (int64_t c = 0; c < k; ++c) {
      if (!adv[c]) continue;
      const double l2 = norm_distance(pts.data() + c * n, oracle.x0(), n, Norm::kL2);
      if (l2 < best) {
        best = l2;
        out.assign(pts.begin() + c * n, pts.begin() + (c + 1) * n);
      }
    }
    if (!out.empty()) return Status::Ok();
  }
  return Status::Ok();
}

Status binary_search_to_boundary(DecisionOracle& oracle, Norm norm, double tol, std::vector<float>& x_adv) {
  const int64_t n = oracle.sample_size();
  const float* x0 = oracle.x0();
  const std::vector<float> far = x_adv;
  double span = 0;
  for (int64_t i = 0; i < n; ++i) span = std::max(span, std::fabs(static_cast<double>(far[i]) - x0[i]));
  if (span == 0) return Status::Ok();
  std::vector<float> lo_pt(x0, x0 + n), mid(static_cast<size_t>(n));
  double lo = 0, hi = 1;
  while (oracle.queries_left() > 0) {
    if (oracle.gridded() && (hi - lo) * span <= oracle.domain().step()) break;
    if (hi - lo <= tol) break;
    const double a = 0.5 * (lo + hi);
    for (int64_t i = 0; i < n; ++i) {
      if (norm == Norm::kLinf) {
        const double r = a * span;
        mid[i] = static_cast<float>(std::clamp(static_cast<double>(far[i]), x0[i] - r, x0[i] + r));
      } else {
        mid[i] = static_cast<float>(x0[i] + a * (static_cast<double>(far[i]) - x0[i]));
      }
    }
    oracle.place_in_domain(mid.data(), n);
    bool adv;
    if (mid == x_adv) {
      adv = true;  // the model reads the adversarial end itself
    } else if (mid == lo_pt) {
      adv = false;
    } else {
      SLING_ASSIGN_OR_RETURN(adv, oracle.decide_one(mid));
    }
    if (adv) {
      hi = a;
      x_adv = mid;
    } else {
      lo = a;
      lo_pt = mid;
    }
  }
  return Status::Ok();
}

Status DecisionBasedAttack::run(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng,
                               Tensor& x_adv) {
  x_adv = batch.x0;
  for (int64_t s = 0; s < batch.x0.dim(0); ++s) {
    DecisionOracle oracle(target, batch, p, s);
    std::vector<float> best;
    if (p.eps > 0) SLING_RETURN_IF_ERROR(search_sample(oracle, p, rng, best));
    const int64_t n = oracle.sample_size();
    float* dst = x_adv.data() + s * n;
    if (best.empty())
      std::copy(oracle.x0(), oracle.x0() + n, dst);
    else
      std::copy(best.begin(), best.end(), dst);
  }
  project(x_adv, batch.x0, p.norm, p.eps, target.domain(), p.pixel_valid);
  return Status::Ok();
}

}  // namespace slingshot
