// DeepFool (Moosavi-Dezfooli, Fawzi & Frossard, CVPR 2016): an untargeted
// minimal-perturbation attack. Each iteration linearizes the margins f_k - f_y of the
// candidate classes k around the current point, steps onto the nearest linearized
// boundary (L2: r = |f'_l| / ||w_l||_2^2 * w_l; Linf: r = |f'_l| / ||w_l||_1 * sign(w_l),
// with w_l = grad(f_l - f_y)), accumulates the steps in r_tot and evaluates
// x0 + (1 + overshoot) * r_tot, until the deployed engine's label leaves y or max_iter.
//
// Logit differences. Target::loss_grad only exposes shift-invariant objectives, and
// DeepFool needs f_k - f_y and its gradient for every candidate k. The targeted
// cross-entropy objective for class c is log p_c = z_c - logsumexp(z), with gradient
// grad z_c - sum_j p_j grad z_j. Its difference between classes k and y at the same point
// is exactly z_k - z_y with gradient grad z_k - grad z_y: the logsumexp terms cancel. So
// one loss_grad call on copies of the iterate, one copy per candidate class (y included),
// gives every linearization DeepFool needs, with no regime restriction (the CW-margin
// route would give z_k - z_y only while y stays the top class).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

// Gradient rows per loss_grad call (sample x candidate-class copies).
constexpr int64_t kMaxGradientRows = 32;

// Rows `rows` of x [N, per...] as a batch.
Tensor gather(const Tensor& x, const std::vector<int64_t>& rows, int64_t per) {
  Shape shape = x.shape();
  shape[0] = static_cast<int64_t>(rows.size());
  Tensor out(shape);
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy(x.data() + rows[i] * per, x.data() + (rows[i] + 1) * per, out.data() + static_cast<int64_t>(i) * per);
  return out;
}

class DeepFool final : public Attack {
 public:
  const char* name() const override { return "deepfool"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  int default_max_iter() const override { return 50; }  // Foolbox; it stops at the first success anyway
  std::vector<Norm> norms() const override { return {Norm::kL2, Norm::kLinf}; }
  bool accepts_unbounded_eps() const override { return true; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.targeted = false;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "nb_grads", .kind = SettingKind::kInteger, .default_value = 10, .min = 2, .max = 100000,
             .doc = "candidate classes (true class included) whose gradients each step uses"},
        {.name = "overshoot", .default_value = 0.02, .min = 0, .max = kNoBound, .max_exclusive = true,
         .doc = "relative overshoot past the linearized boundary"}};
  }

  Status check(const AttackParams& p) const override {
    if (p.targeted)
      return invalid_argument("deepfool is untargeted only (it steps to the nearest decision boundary); use an untargeted run");
    const double nb = setting(p, "nb_grads");
    if (nb < 2 || nb != std::floor(nb))
      return invalid_argument("nb_grads must be a whole number >= 2 (the true class and at least one other), got " +
                              std::to_string(nb));
    const double overshoot = setting(p, "overshoot");
    if (overshoot < 0) return invalid_argument("overshoot must be >= 0, got " + std::to_string(overshoot));
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;  // deterministic
    x_adv = b.x0;
    const int64_t n = b.x0.dim(0);
    if (n == 0 || p.eps == 0) return Status::Ok();
    const int64_t per = b.x0.numel() / n;
    const int classes = target.num_classes();
    const int nb = std::min(classes, static_cast<int>(setting(p, "nb_grads")));
    const double scale = 1.0 + setting(p, "overshoot");
    const InputDomain domain = target.domain();
    const bool bounded = std::isfinite(p.eps);
    const float inf = std::numeric_limits<float>::infinity();

    // Candidate classes per sample, as ART: the nb most likely at the clean point (the
    // true class always among them, first).
    Tensor logits;
    SLING_RETURN_IF_ERROR(target.predict(b.x0, logits));
    std::vector<std::vector<int>> cand(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s) {
      std::vector<int> order(static_cast<size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      const float* z = logits.data() + s * classes;
      std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return z[a] > z[c]; });
      cand[s].push_back(b.labels[s]);
      for (int c : order)
        if (c != b.labels[s] && static_cast<int>(cand[s].size()) < nb) cand[s].push_back(c);
    }

    // The paper's implementation adds 1e-4 to |f'| to land just past the linearized
    // boundary. A quantized model's logits are on a grid, so the iterate can sit on a tie
    // (f' = 0 exactly) that the deployed engine breaks for y, and steps far smaller than
    // half an input grid step vanish in the pixel-valid projection. So while |f'| does not
    // shrink from one iteration to the next the push grows fourfold, and it falls back to
    // 1e-4 as soon as the iterate makes progress again (capped, so that a sample pinned
    // at the range bounds keeps finite steps).
    constexpr double kPush = 1e-4, kMaxPush = 1e3;
    std::vector<double> push(static_cast<size_t>(n), kPush), last_f(static_cast<size_t>(n), inf);
    std::vector<double> r_tot(static_cast<size_t>(n * per), 0.0);
    Tensor x = b.x0;  // continuous iterate x0 + (1 + overshoot) * r_tot, clipped to the range
    std::vector<int64_t> active(static_cast<size_t>(n));
    std::iota(active.begin(), active.end(), 0);
    Shape shape = b.x0.shape();
    Tensor batch, value, grad, probe_logits, chunk, chunk_value, chunk_grad;
    std::vector<double> w(static_cast<size_t>(per)), best_w(static_cast<size_t>(per));

    for (int it = 0; !active.empty(); ++it) {
      // Judge the iterate on the deployed engine, on the point the attack would return.
      // Bounded runs also probe the unprojected grid point: DeepFool has converged once
      // that one crosses, whether or not its projection onto the ball does.
      const int64_t a = static_cast<int64_t>(active.size());
      const Tensor x0_active = gather(b.x0, active, per);
      Tensor inside = gather(x, active, per);
      Tensor probe = bounded ? inside : Tensor();
      project(inside, x0_active, p.norm, p.eps, domain, p.pixel_valid);
      if (bounded) {
        project(probe, x0_active, p.norm, inf, domain, p.pixel_valid);
        probe.storage().insert(probe.storage().begin(), inside.storage().begin(), inside.storage().end());
        shape[0] = 2 * a;
        probe.reshape(shape);
      }
      SLING_RETURN_IF_ERROR(target.predict(bounded ? probe : inside, probe_logits));
      std::vector<int64_t> still;
      for (int64_t i = 0; i < a; ++i) {
        const int64_t s = active[i];
        std::copy(inside.data() + i * per, inside.data() + (i + 1) * per, x_adv.data() + s * per);
        const bool crossed = top1_class(probe_logits, i) != b.labels[s] ||
                             (bounded && top1_class(probe_logits, a + i) != b.labels[s]);
        if (!crossed) still.push_back(s);
      }
      active.swap(still);
      if (active.empty() || it == p.max_iter) break;

      // One copy of each active iterate per candidate class; targeted CE gives log p_c.
      int64_t rows = 0;
      for (int64_t s : active) rows += static_cast<int64_t>(cand[s].size());
      shape[0] = rows;
      batch.resize(shape);
      std::vector<int> row_labels, row_targets;
      for (int64_t s : active)
        for (int c : cand[s]) {
          std::copy(x.data() + s * per, x.data() + (s + 1) * per, batch.data() + static_cast<int64_t>(row_labels.size()) * per);
          row_labels.push_back(b.labels[s]);
          row_targets.push_back(c);
        }
      // In chunks: all samples x classes copies at once would hold that many sets of
      // activations (ResNet-8, 16 samples x 10 classes: over 400 MB).
      value.resize({rows});
      grad.resize(shape);
      for (int64_t first = 0; first < rows; first += kMaxGradientRows) {
        const int64_t count = std::min(kMaxGradientRows, rows - first);
        Shape chunk_shape = shape;
        chunk_shape[0] = count;
        chunk.resize(chunk_shape);
        std::copy(batch.data() + first * per, batch.data() + (first + count) * per, chunk.data());
        const std::vector<int> chunk_labels(row_labels.begin() + first, row_labels.begin() + first + count);
        const std::vector<int> chunk_targets(row_targets.begin() + first, row_targets.begin() + first + count);
        SLING_RETURN_IF_ERROR(
            target.loss_grad(chunk, Objective{LossKind::kCrossEntropy, chunk_labels, chunk_targets}, chunk_value, chunk_grad));
        std::copy(chunk_value.data(), chunk_value.data() + count, value.data() + first);
        std::copy(chunk_grad.data(), chunk_grad.data() + count * per, grad.data() + first * per);
      }

      int64_t row = 0;
      std::vector<int64_t> moving;
      for (int64_t s : active) {
        const int64_t base = row;  // the true class's row
        row += static_cast<int64_t>(cand[s].size());
        const float* gy = grad.data() + base * per;
        double best_dist = inf, best_f = 0, best_size = 0;
        for (int64_t r = base + 1; r < row; ++r) {
          const float* gk = grad.data() + r * per;
          const double f = static_cast<double>(value[r]) - value[base];  // z_k - z_y
          double size = 0;
          for (int64_t i = 0; i < per; ++i) {
            w[i] = static_cast<double>(gk[i]) - gy[i];
            size += p.norm == Norm::kL2 ? w[i] * w[i] : std::fabs(w[i]);
          }
          if (p.norm == Norm::kL2) size = std::sqrt(size);
          if (!(size > 0)) continue;  // a flat linearization gives no boundary
          const double dist = std::fabs(f) / size;
          if (dist < best_dist) {
            best_dist = dist;
            best_f = f;
            best_size = size;
            best_w.swap(w);
          }
        }
        if (!std::isfinite(best_dist)) continue;
        push[s] = std::fabs(best_f) < last_f[s] ? kPush : std::min(push[s] * 4, kMaxPush);
        last_f[s] = std::fabs(best_f);
        moving.push_back(s);
        const double magnitude = std::fabs(best_f) + push[s];
        double* rt = r_tot.data() + s * per;
        float* xs = x.data() + s * per;
        const float* x0s = b.x0.data() + s * per;
        for (int64_t i = 0; i < per; ++i) {
          rt[i] += p.norm == Norm::kL2 ? magnitude / (best_size * best_size) * best_w[i]
                                       : magnitude / best_size * static_cast<double>((best_w[i] > 0) - (best_w[i] < 0));
          xs[i] = std::clamp(static_cast<float>(x0s[i] + scale * rt[i]), domain.lo, domain.hi);
        }
      }
      active.swap(moving);
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_deepfool_attack() { return std::make_unique<DeepFool>(); }

}  // namespace slingshot
