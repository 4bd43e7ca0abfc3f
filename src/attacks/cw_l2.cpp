// Carlini & Wagner L2 (Carlini & Wagner 2017, "Towards evaluating the robustness of neural
// networks", section V): minimize ||x - x0||_2^2 + c * f(x) with Adam over w, where
// x = lo + (hi - lo) * (tanh(w) + 1) / 2 keeps x in the domain, and
// f(x) = max(z_y - max_{j!=y} z_j, -kappa) (targeted: max(max_{j!=t} z_j - z_t, -kappa)).
// A binary search per sample over c (times 10 until a first success, then bisection)
// keeps the smallest-L2 adversarial example found. Success is judged on the deployed
// engine at the point the attack would report: the iterate on the input grid (pixel-valid)
// and inside the eps-ball (eps may be inf). Samples never fooled are returned unchanged.
#include <algorithm>
#include <cmath>
#include <limits>

#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

constexpr double kUpperUnset = 1e10;  // "no success yet" bound of the binary search (C&W's)

class CwL2 final : public Attack {
 public:
  const char* name() const override { return "cw-l2"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  std::vector<Norm> norms() const override { return {Norm::kL2}; }
  bool accepts_unbounded_eps() const override { return true; }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "confidence", .default_value = 0, .min = 0, .max = kNoBound, .max_exclusive = true,
             .doc = "margin kappa the wrong class must win by"},
        {.name = "initial_const", .default_value = 0.01, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
         .doc = "first trade-off constant c of the binary search"},
        {.name = "binary_search_steps", .kind = SettingKind::kInteger, .default_value = 9, .min = 1, .max = 1000,
         .doc = "binary-search steps over c"},
        {.name = "learning_rate", .default_value = 0.01, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
         .doc = "Adam step size in tanh space"}};
  }
  Status check(const AttackParams& p) const override {
    const double kappa = setting(p, "confidence");
    if (!(kappa >= 0)) return invalid_argument("cw-l2: confidence must be >= 0, got " + std::to_string(kappa));
    const double c = setting(p, "initial_const");
    if (!(c > 0)) return invalid_argument("cw-l2: initial_const must be > 0, got " + std::to_string(c));
    const double steps = setting(p, "binary_search_steps");
    if (!(steps >= 1) || steps != std::floor(steps) || steps > 1000)
      return invalid_argument("cw-l2: binary_search_steps must be a whole number in [1, 1000], got " + std::to_string(steps));
    const double lr = setting(p, "learning_rate");
    if (!(lr > 0)) return invalid_argument("cw-l2: learning_rate must be > 0, got " + std::to_string(lr));
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    (void)rng;
    const InputDomain d = target.domain();
    const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);
    const float kappa = static_cast<float>(setting(p, "confidence"));
    const int search_steps = static_cast<int>(setting(p, "binary_search_steps"));
    const float lr = static_cast<float>(setting(p, "learning_rate"));
    const Objective objective{LossKind::kCwMargin, b.labels, b.targets, kappa};
    const bool targeted = !b.targets.empty();
    const float half = 0.5f * (d.hi - d.lo);

    // w0 = atanh of x0 mapped to (-1, 1), shrunk a little so that lo and hi stay finite.
    Tensor w0(b.x0.shape());
    for (int64_t i = 0; i < w0.numel(); ++i) {
      const double u = std::clamp((static_cast<double>(b.x0[i]) - d.lo) / half - 1.0, -1.0, 1.0);
      w0[i] = static_cast<float>(std::atanh(u * 0.999999));
    }

    std::vector<double> c(static_cast<size_t>(n), setting(p, "initial_const")), lower(n, 0.0), upper(n, kUpperUnset);
    std::vector<double> best_l2(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
    x_adv = b.x0;
    Tensor w, m, v, x(b.x0.shape()), th(b.x0.shape()), eval, value, grad, logits;
    for (int step = 0; step < search_steps; ++step) {
      w = w0;
      m = Tensor(b.x0.shape(), 0.0f);
      v = Tensor(b.x0.shape(), 0.0f);
      std::vector<char> found(static_cast<size_t>(n), 0);
      double beta1_t = 1, beta2_t = 1;
      for (int it = 0; it <= p.max_iter; ++it) {
        for (int64_t i = 0; i < w.numel(); ++i) {
          th[i] = std::tanh(w[i]);
          x[i] = std::clamp(d.lo + half * (th[i] + 1.0f), d.lo, d.hi);
        }
        // The point the attack would report: on the grid and inside the ball.
        eval = x;
        project(eval, b.x0, Norm::kL2, p.eps, d, p.pixel_valid);
        SLING_RETURN_IF_ERROR(target.predict(eval, logits));
        const int64_t k = logits.dim(1);
        for (int64_t s = 0; s < n; ++s) {
          const float* z = logits.data() + s * k;
          const int cls = targeted ? b.targets[s] : b.labels[s];
          float other = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < k; ++j)
            if (j != cls) other = std::max(other, z[j]);
          // The deployed margin must reach kappa (ties do not count as a success).
          const float margin = targeted ? z[cls] - other : other - z[cls];
          if (!(margin > 0 && margin >= kappa)) continue;
          found[s] = 1;
          const double l2 = distortion(eval.data() + s * per, b.x0.data() + s * per, per).l2;
          if (l2 < best_l2[s]) {
            best_l2[s] = l2;
            std::copy(eval.data() + s * per, eval.data() + (s + 1) * per, x_adv.data() + s * per);
          }
        }
        if (it == p.max_iter) break;

        // objective = -f, so d(loss)/dx = 2 (x - x0) - c * d(objective)/dx, at the reported point.
        SLING_RETURN_IF_ERROR(target.loss_grad(eval, objective, value, grad));
        beta1_t *= 0.9;
        beta2_t *= 0.999;
        const float lr_t = static_cast<float>(lr * std::sqrt(1 - beta2_t) / (1 - beta1_t));
        for (int64_t s = 0; s < n; ++s) {
          const float cs = static_cast<float>(c[s]);
          for (int64_t i = s * per; i < (s + 1) * per; ++i) {
            const float gx = 2.0f * (x[i] - b.x0[i]) - cs * grad[i];
            const float gw = gx * half * (1.0f - th[i] * th[i]);
            m[i] = 0.9f * m[i] + 0.1f * gw;
            v[i] = 0.999f * v[i] + 0.001f * gw * gw;
            w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + 1e-8f);
          }
        }
      }
      for (int64_t s = 0; s < n; ++s) {
        if (found[s]) {
          upper[s] = std::min(upper[s], c[s]);
          c[s] = 0.5 * (lower[s] + upper[s]);
        } else {
          lower[s] = std::max(lower[s], c[s]);
          c[s] = upper[s] < kUpperUnset ? 0.5 * (lower[s] + upper[s]) : c[s] * 10;
        }
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_cw_l2_attack() { return std::make_unique<CwL2>(); }

}  // namespace slingshot
