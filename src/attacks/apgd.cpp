// Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an
// ensemble of diverse parameter-free attacks", Algorithm 1): PGD with momentum
// alpha = 0.75 whose step size needs no tuning. It starts at 2 * eps and is halved at the
// checkpoints w_j = ceil(p_j * max_iter), p_0 = 0, p_1 = 0.22,
// p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06), when (1) fewer than rho = 0.75 of the
// steps since the last checkpoint raised the objective, or (2) neither the step size nor the
// best objective changed since the last checkpoint; a halving restarts from the best point.
// Registered twice: "apgd-ce" (cross-entropy) and "apgd-dlr" (the DLR loss; targeted, the
// targeted DLR of AutoAttack's APGD-T); the name fixes the objective, AttackParams::loss is
// not read. Linf and L2; eps_step, when set, replaces the initial step 2 * eps.
#include <algorithm>
#include <cmath>
#include <limits>

#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

constexpr float kAlpha = 0.75f;  // momentum weight of the new step
constexpr double kRho = 0.75;    // share of objective-raising steps below which the step halves

// Checkpoints w_1 < w_2 < ... strictly inside (0, n_iter).
std::vector<int> checkpoints(int n_iter) {
  std::vector<int> w;
  double before = 0, p = 0.22;
  while (p <= 1.0) {
    // The small slack keeps 0.22 * 100 at 22, not 23.
    const int c = static_cast<int>(std::ceil(p * n_iter - 1e-9));
    if (c > 0 && c < n_iter && (w.empty() || c > w.back())) w.push_back(c);
    const double next = p + std::max(p - before - 0.03, 0.06);
    before = p;
    p = next;
  }
  return w;
}

void copy_sample(const Tensor& from, Tensor& to, int64_t s, int64_t per) {
  std::copy(from.data() + s * per, from.data() + (s + 1) * per, to.data() + s * per);
}

bool adversarial(const float* z, int64_t k, int label, int target) {
  const int64_t top = std::max_element(z, z + k) - z;
  return target >= 0 ? top == target : top != label;
}

// What one APGD run leaves per sample: its output (a deployed-engine success if it found
// one, the highest-objective one among them; else the highest-objective iterate).
struct Outcome {
  Tensor x;
  std::vector<float> value;
  std::vector<char> success;
};

Status apgd_once(Target& target, const Tensor& x0, std::span<const int> labels, std::span<const int> targets,
                 LossKind loss, const AttackParams& p, const Tensor& start, Outcome& out) {
  const InputDomain d = target.domain();
  const int64_t n = x0.dim(0), per = x0.numel() / std::max<int64_t>(n, 1);
  const Objective objective{loss, labels, targets};
  const int n_iter = p.max_iter;
  const std::vector<int> w = checkpoints(n_iter);
  constexpr float kLow = -std::numeric_limits<float>::infinity();

  std::vector<float> eta(static_cast<size_t>(n), p.eps_step > 0 ? p.eps_step : 2.0f * p.eps);
  std::vector<float> f_max(n, kLow), f_prev(n, kLow), f_max_checked(n, kLow), eta_checked(n, 0.0f);
  std::vector<int> raised(static_cast<size_t>(n), 0);
  Tensor cur = start, prev, eval, value, grad, logits, z, best_x, best_grad;
  project(cur, x0, p.norm, p.eps, d, false);
  prev = cur;
  best_x = cur;
  best_grad = Tensor(x0.shape(), 0.0f);
  out.x = x0;
  out.value.assign(static_cast<size_t>(n), kLow);
  out.success.assign(static_cast<size_t>(n), 0);

  size_t next_check = 0;
  int last_check = 0;
  for (int k = 0; k <= n_iter; ++k) {
    // The objective and its gradient at the grid point the deployed model reads.
    eval = cur;
    if (p.pixel_valid) project(eval, x0, p.norm, p.eps, d, true);
    SLING_RETURN_IF_ERROR(target.loss_grad(eval, objective, value, grad));
    SLING_RETURN_IF_ERROR(target.predict(eval, logits));
    const int64_t classes = logits.dim(1);
    for (int64_t s = 0; s < n; ++s) {
      if (k > 0 && value[s] > f_prev[s]) ++raised[s];
      f_prev[s] = value[s];
      if (value[s] > f_max[s]) {
        f_max[s] = value[s];
        copy_sample(cur, best_x, s, per);
        copy_sample(grad, best_grad, s, per);
      }
      const bool adv = adversarial(logits.data() + s * classes, classes, labels[s], targets.empty() ? -1 : targets[s]);
      const bool better = adv ? !out.success[s] || value[s] > out.value[s] : !out.success[s] && value[s] > out.value[s];
      if (better) {
        copy_sample(eval, out.x, s, per);
        out.value[s] = value[s];
        out.success[s] = out.success[s] || adv;
      }
    }
    if (k == n_iter) break;

    if (k == 0) {
      f_max_checked = f_max;
      eta_checked = eta;
    } else if (next_check < w.size() && k == w[next_check]) {
      const int span = k - last_check;
      for (int64_t s = 0; s < n; ++s) {
        const bool few_raised = raised[s] < kRho * span;
        const bool stalled = eta_checked[s] == eta[s] && f_max_checked[s] == f_max[s];
        eta_checked[s] = eta[s];
        f_max_checked[s] = f_max[s];
        raised[s] = 0;
        if (!few_raised && !stalled) continue;
        // Halve the step and go on from the best point, with its gradient and no momentum.
        eta[s] *= 0.5f;
        copy_sample(best_x, cur, s, per);
        copy_sample(best_x, prev, s, per);
        copy_sample(best_grad, grad, s, per);
        f_prev[s] = f_max[s];
      }
      last_check = k;
      ++next_check;
    }

    // z = P(x_k + eta * direction); x_{k+1} = P(x_k + alpha (z - x_k) + (1 - alpha)(x_k - x_{k-1})).
    z = cur;
    for (int64_t s = 0; s < n; ++s) {
      const float* g = grad.data() + s * per;
      float* zs = z.data() + s * per;
      if (p.norm == Norm::kLinf) {
        for (int64_t i = 0; i < per; ++i) zs[i] += eta[s] * static_cast<float>((g[i] > 0) - (g[i] < 0));
      } else {
        double size = 0;
        for (int64_t i = 0; i < per; ++i) size += static_cast<double>(g[i]) * g[i];
        size = std::sqrt(size);
        if (!(size > 0)) continue;
        const float scale = static_cast<float>(eta[s] / size);
        for (int64_t i = 0; i < per; ++i) zs[i] += scale * g[i];
      }
    }
    project(z, x0, p.norm, p.eps, d, false);
    if (k == 0) {
      prev = cur;
      cur = z;
      continue;
    }
    Tensor next = cur;
    for (int64_t i = 0; i < next.numel(); ++i)
      next[i] = cur[i] + kAlpha * (z[i] - cur[i]) + (1.0f - kAlpha) * (cur[i] - prev[i]);
    project(next, x0, p.norm, p.eps, d, false);
    prev = std::move(cur);
    cur = std::move(next);
  }
  return Status::Ok();
}

class Apgd final : public Attack {
 public:
  Apgd(const char* name, LossKind loss) : name_(name), loss_(loss) {}
  const char* name() const override { return name_; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  int default_max_iter() const override { return 100; }  // AutoAttack's standard version
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.restarts = true;
    return use;
  }

  // Restarts (num_random_init of them, each from a uniform random point of the ball; one
  // from x0 when it is 0) run only on the samples no earlier restart fooled.
  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);
    const bool targeted = !b.targets.empty();
    x_adv = b.x0;
    std::vector<float> best(static_cast<size_t>(n), -std::numeric_limits<float>::infinity());
    std::vector<char> done(static_cast<size_t>(n), 0);
    const int attempts = std::max(1, p.num_random_init);
    for (int a = 0; a < attempts; ++a) {
      std::vector<int64_t> left;
      for (int64_t s = 0; s < n; ++s)
        if (!done[s]) left.push_back(s);
      if (left.empty()) break;
      Shape shape = b.x0.shape();
      shape[0] = static_cast<int64_t>(left.size());
      Tensor sub(shape), start;
      std::vector<int> labels, targets;
      for (size_t j = 0; j < left.size(); ++j) {
        std::copy(b.x0.data() + left[j] * per, b.x0.data() + (left[j] + 1) * per, sub.data() + static_cast<int64_t>(j) * per);
        labels.push_back(b.labels[left[j]]);
        if (targeted) targets.push_back(b.targets[left[j]]);
      }
      if (p.num_random_init > 0) {
        random_start(start, sub, p.norm, p.eps, target.domain(), rng);
      } else {
        start = sub;
      }
      Outcome out;
      SLING_RETURN_IF_ERROR(apgd_once(target, sub, labels, targets, loss_, p, start, out));
      for (size_t j = 0; j < left.size(); ++j) {
        const int64_t s = left[j];
        if (!out.success[j] && !(out.value[j] > best[s])) continue;
        std::copy(out.x.data() + static_cast<int64_t>(j) * per, out.x.data() + static_cast<int64_t>(j + 1) * per,
                  x_adv.data() + s * per);
        best[s] = out.value[j];
        done[s] = out.success[j];
      }
    }
    return Status::Ok();
  }

 private:
  const char* name_;
  LossKind loss_;
};

}  // namespace

std::unique_ptr<Attack> make_apgd_ce_attack() { return std::make_unique<Apgd>("apgd-ce", LossKind::kCrossEntropy); }
std::unique_ptr<Attack> make_apgd_dlr_attack() { return std::make_unique<Apgd>("apgd-dlr", LossKind::kDlr); }

}  // namespace slingshot
