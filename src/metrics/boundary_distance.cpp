// Minimal adversarial distances (see boundary_distance.h).
#include "metrics/boundary_distance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attacks/objective.h"

namespace slingshot {

Result<BoundaryDistances> minimal_adversarial_distances(Attack& attack, Target& target, const Tensor& x,
                                                        std::span<const int> y, const AttackParams& p,
                                                        int bisection_steps) {
  if (!attack.accepts_unbounded_eps())
    return invalid_argument(std::string("attack '") + attack.name() +
                            "' is bounded by eps; a boundary distance needs a minimal-perturbation attack "
                            "(deepfool, cw-l2, ead)");
  if (bisection_steps < 0 || bisection_steps > 64)
    return invalid_argument("bisection steps must be in 0..64, got " + std::to_string(bisection_steps));
  if (x.rank() < 2 || x.dim(0) != static_cast<int64_t>(y.size()))
    return invalid_argument("a boundary distance needs [N, ...] inputs with one label each");
  AttackParams unbounded = p;
  unbounded.eps = std::numeric_limits<float>::infinity();
  const int64_t n = x.dim(0), per = x.numel() / n;
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();

  BoundaryDistances out;
  out.distance.assign(static_cast<size_t>(n), inf);
  out.attack_distance.assign(static_cast<size_t>(n), inf);
  Tensor batch, logits;
  for (int64_t first = 0; first < n; first += std::max(1, p.batch_size)) {
    const int64_t count = std::min<int64_t>(std::max(1, p.batch_size), n - first);
    batch = batch_rows(x, first, count);
    SLING_ASSIGN_OR_RETURN(BatchOutcome o, attack_batch(attack, target, batch, y.subspan(static_cast<size_t>(first), count),
                                                        first, unbounded));
    // Bisection on t in [lo, hi]: lo's point is classified correctly, hi's is not.
    std::vector<double> lo(static_cast<size_t>(count), 0.0), hi(static_cast<size_t>(count), 1.0);
    std::vector<int64_t> active;
    for (int64_t i = 0; i < count; ++i) {
      const ExampleRecord& r = o.records[static_cast<size_t>(i)];
      if (r.clean_prediction != r.label) {
        out.distance[static_cast<size_t>(first + i)] = out.attack_distance[static_cast<size_t>(first + i)] = nan;
        ++out.misclassified;
      } else if (r.success) {
        active.push_back(i);
      }
    }
    Tensor probe;
    for (int step = 0; step < bisection_steps && !active.empty(); ++step) {
      Shape probe_shape = x.shape();
      probe_shape[0] = static_cast<int64_t>(active.size());
      probe.resize(probe_shape);
      for (size_t k = 0; k < active.size(); ++k) {
        const int64_t i = active[k];
        const float t = static_cast<float>((lo[i] + hi[i]) / 2);
        const float* x0 = batch.data() + i * per;
        const float* xa = o.x_adv.data() + i * per;
        float* q = probe.data() + static_cast<int64_t>(k) * per;
        for (int64_t j = 0; j < per; ++j) q[j] = x0[j] + t * (xa[j] - x0[j]);
      }
      SLING_RETURN_IF_ERROR(target.predict(probe, logits));
      for (size_t k = 0; k < active.size(); ++k) {
        const int64_t i = active[k];
        const double mid = (lo[i] + hi[i]) / 2;
        (top1_class(logits, static_cast<int64_t>(k)) == y[static_cast<size_t>(first + i)] ? lo[i] : hi[i]) = mid;
      }
    }
    std::vector<float> point(static_cast<size_t>(per));
    for (int64_t i : active) {
      const float* x0 = batch.data() + i * per;
      const float* xa = o.x_adv.data() + i * per;
      for (int64_t j = 0; j < per; ++j) point[j] = x0[j] + static_cast<float>(hi[i]) * (xa[j] - x0[j]);
      out.distance[static_cast<size_t>(first + i)] = distortion_norm(distortion(point.data(), x0, per), p.norm);
      out.attack_distance[static_cast<size_t>(first + i)] = distortion_norm(distortion(xa, x0, per), p.norm);
    }
  }
  std::vector<double> found;
  for (double d : out.distance)
    if (std::isfinite(d)) found.push_back(d);
  out.found = static_cast<int64_t>(found.size());
  if (found.empty()) {
    out.median = out.mean = nan;
  } else {
    std::sort(found.begin(), found.end());
    out.median = found.size() % 2 ? found[found.size() / 2] : (found[found.size() / 2 - 1] + found[found.size() / 2]) / 2;
    double sum = 0;
    for (double d : found) sum += d;
    out.mean = sum / static_cast<double>(found.size());
  }
  return out;
}

}  // namespace slingshot
