// Gradient-attack building blocks (see gradient_steps.h).
#include "attacks/gradient_steps.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"

namespace slingshot {

void ascend(Tensor& x, const Tensor& grad, Norm norm, float step) {
  const int64_t n = x.dim(0), per = x.numel() / std::max<int64_t>(n, 1);
  parallel_item_ranges(n, per, [&](int64_t s0, int64_t s1, int) {
    for (int64_t s = s0; s < s1; ++s) {
      float* xs = x.data() + s * per;
      const float* g = grad.data() + s * per;
      if (norm == Norm::kLinf) {
        for (int64_t i = 0; i < per; ++i) xs[i] += step * static_cast<float>((g[i] > 0) - (g[i] < 0));
        continue;
      }
      double size = 0;
      for (int64_t i = 0; i < per; ++i) size += norm == Norm::kL2 ? static_cast<double>(g[i]) * g[i] : std::fabs(g[i]);
      if (norm == Norm::kL2) size = std::sqrt(size);
      if (!(size > 0)) continue;  // a flat gradient gives no direction
      const float scale = static_cast<float>(step / size);
      for (int64_t i = 0; i < per; ++i) xs[i] += scale * g[i];
    }
  });
}

void random_start(Tensor& x, const Tensor& x0, Norm norm, float eps, const InputDomain& d, Rng& rng) {
  x = x0;
  const int64_t n = x.dim(0), per = x.numel() / std::max<int64_t>(n, 1);
  for (int64_t s = 0; s < n; ++s) {
    float* xs = x.data() + s * per;
    if (norm == Norm::kLinf) {
      for (int64_t i = 0; i < per; ++i) xs[i] += rng.uniform(-eps, eps);
    } else if (norm == Norm::kL2 || norm == Norm::kL1) {
      std::vector<float> dir(static_cast<size_t>(per));
      double size = 0;
      for (float& v : dir) {
        v = norm == Norm::kL2 ? rng.normal() : (rng.uniform() < 0.5f ? -1.0f : 1.0f) * -std::log(1.0f - rng.uniform());
        size += norm == Norm::kL2 ? static_cast<double>(v) * v : std::fabs(v);
      }
      if (norm == Norm::kL2) size = std::sqrt(size);
      // Radius eps * u^(1/dim) is uniform in volume for L2; the same draw serves L1 well enough.
      const double radius = eps * std::pow(static_cast<double>(rng.uniform()), 1.0 / static_cast<double>(per));
      if (size > 0)
        for (int64_t i = 0; i < per; ++i) xs[i] += static_cast<float>(dir[i] * radius / size);
    } else {
      // L0: eps random values set to random levels.
      for (int64_t k = 0; k < static_cast<int64_t>(eps); ++k) xs[rng.below(static_cast<uint32_t>(per))] = rng.uniform(d.lo, d.hi);
    }
    for (int64_t i = 0; i < per; ++i) xs[i] = std::clamp(xs[i], d.lo, d.hi);
  }
}

void project_iterate(Tensor& continuous, Tensor& evaluated, const Tensor& x0, Norm norm, float eps,
                     const InputDomain& domain, bool pixel_valid) {
  project(continuous, x0, norm, eps, domain, false);
  evaluated = continuous;
  if (pixel_valid) project(evaluated, x0, norm, eps, domain, true);
}

Status iterate_gradient_ascent(Target& target, const AttackBatch& b, const AttackParams& p, float step,
                               float momentum_decay, Tensor start, Tensor& x_adv) {
  const InputDomain domain = target.domain();
  const Objective objective{p.loss, b.labels, b.targets};
  Tensor continuous = std::move(start), value, grad, momentum;
  project_iterate(continuous, x_adv, b.x0, p.norm, p.eps, domain, p.pixel_valid);
  if (momentum_decay > 0) momentum = Tensor(b.x0.shape(), 0.0f);
  const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);
  for (int it = 0; it < p.max_iter; ++it) {
    SLING_RETURN_IF_ERROR(target.loss_grad(x_adv, objective, value, grad));
    if (momentum_decay > 0) {
      // g <- mu * g + grad / ||grad||_1, per sample (Dong et al. 2018).
      for (int64_t s = 0; s < n; ++s) {
        double l1 = 0;
        for (int64_t i = 0; i < per; ++i) l1 += std::fabs(grad[s * per + i]);
        const float inv = l1 > 0 ? static_cast<float>(1.0 / l1) : 0.0f;
        for (int64_t i = 0; i < per; ++i)
          momentum[s * per + i] = momentum_decay * momentum[s * per + i] + grad[s * per + i] * inv;
      }
      ascend(continuous, momentum, p.norm, step);
    } else {
      ascend(continuous, grad, p.norm, step);
    }
    project_iterate(continuous, x_adv, b.x0, p.norm, p.eps, domain, p.pixel_valid);
  }
  return Status::Ok();
}

Status with_restarts(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng,
                     const std::function<Status(const Tensor& start, Tensor& x_adv)>& attempt, Tensor& x_adv) {
  const int attempts = std::max(1, p.num_random_init);
  const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);
  std::vector<bool> done(static_cast<size_t>(n), false);
  Tensor start, candidate, logits;
  x_adv = b.x0;
  for (int a = 0; a < attempts; ++a) {
    if (p.num_random_init > 0) {
      random_start(start, b.x0, p.norm, p.eps, target.domain(), rng);
    } else {
      start = b.x0;
    }
    SLING_RETURN_IF_ERROR(attempt(start, candidate));
    if (attempts > 1) SLING_RETURN_IF_ERROR(target.predict(candidate, logits));
    const std::vector<int> pred = attempts > 1 ? top1_classes(logits) : std::vector<int>();
    bool all = true;
    for (int64_t s = 0; s < n; ++s) {
      if (done[s]) continue;
      std::copy(candidate.data() + s * per, candidate.data() + (s + 1) * per, x_adv.data() + s * per);
      if (attempts > 1) done[s] = b.targets.empty() ? pred[s] != b.labels[s] : pred[s] == b.targets[s];
      all = all && done[s];
    }
    if (attempts > 1 && all) break;
  }
  return Status::Ok();
}

}  // namespace slingshot
