// LaVAN, localized and visible adversarial noise (Karmon, Zoran & Goldberg, ICML 2018
// workshop / arXiv 1801.02608): a per-image square of unconstrained noise (values anywhere
// in the input range) that replaces the pixels under it, everything outside it untouched.
// The square's top-left corner is drawn at random (location = 0) or put where the clean
// image's objective gradient has the largest window sum of |g| (location = 1). The noise
// starts uniform at random and takes max_iter sign steps of size eps_step on the objective
// (targeted or untargeted), each gradient taken at the grid image the deployed model reads;
// a sample stops as soon as the deployed engine gives the attack's goal, which keeps the
// first successful patch. Only loss_grad and predict are used, so it runs against any Target.
#include <algorithm>
#include <limits>
#include <cmath>
#include <string>

#include "attacks/attack.h"

namespace slingshot {
namespace {

class Lavan final : public Attack {
 public:
  const char* name() const override { return "lavan"; }
  AttackFamily family() const override { return AttackFamily::kPatch; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2, Norm::kL1, Norm::kL0}; }
  bool bounded_by_eps() const override { return false; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.loss = true;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "patch_size", .kind = SettingKind::kInteger, .default_value = std::numeric_limits<double>::quiet_NaN(), .min = 1, .max = 4096, .unit = "pixels",
             .doc = "patch side; default a quarter of the shorter image side"},
        {.name = "location", .kind = SettingKind::kChoice, .default_value = 1, .choices = {"random", "gradient"},
         .doc = "patch corner: random, or where the gradient magnitude is largest"}};
  }

  Status check(const AttackParams& p) const override {
    if (p.extra.count("patch_size")) {
      const double s = setting(p, "patch_size");
      if (!(s >= 1 && s == std::floor(s)))
        return invalid_argument("patch_size (the patch side in pixels) must be an integer >= 1, got " + std::to_string(s));
    }
    const double loc = setting(p, "location");
    if (loc != 0 && loc != 1)
      return invalid_argument("location must be 0 (random) or 1 (largest gradient magnitude), got " + std::to_string(loc));
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    SLING_RETURN_IF_ERROR(check(p));
    if (b.x0.rank() != 4) return invalid_argument("LaVAN needs images [N, H, W, C], got " + shape_to_string(b.x0.shape()));
    const int64_t n = b.x0.dim(0), H = b.x0.dim(1), W = b.x0.dim(2), C = b.x0.dim(3);
    const int64_t side = static_cast<int64_t>(extra(p, "patch_size", std::max(1.0, std::round(std::min(H, W) / 4.0))));
    if (side > std::min(H, W))
      return invalid_argument("patch_size " + std::to_string(side) + " is larger than the " + std::to_string(H) + "x" +
                              std::to_string(W) + " image");
    const InputDomain domain = target.domain();
    const float step = p.eps_step > 0 ? p.eps_step : 4.0f * (domain.levels > 0 ? domain.step() : 1.0f / 255.0f);
    x_adv = b.x0;
    if (n == 0) return Status::Ok();
    const Objective objective{p.loss, b.labels, b.targets};
    const bool targeted = !b.targets.empty();

    // Top-left corners.
    std::vector<int64_t> row(static_cast<size_t>(n)), col(static_cast<size_t>(n));
    if (setting(p, "location") == 0) {
      for (int64_t s = 0; s < n; ++s) {
        row[s] = rng.below(static_cast<uint32_t>(H - side + 1));
        col[s] = rng.below(static_cast<uint32_t>(W - side + 1));
      }
    } else {
      Tensor value, grad;
      SLING_RETURN_IF_ERROR(target.loss_grad(b.x0, objective, value, grad));
      std::vector<double> mag(static_cast<size_t>((H + 1) * (W + 1)));  // integral image of sum_c |g|
      for (int64_t s = 0; s < n; ++s) {
        std::fill(mag.begin(), mag.end(), 0.0);
        for (int64_t i = 0; i < H; ++i)
          for (int64_t j = 0; j < W; ++j) {
            double a = 0;
            for (int64_t c = 0; c < C; ++c) a += std::fabs(grad[((s * H + i) * W + j) * C + c]);
            mag[(i + 1) * (W + 1) + j + 1] = a + mag[i * (W + 1) + j + 1] + mag[(i + 1) * (W + 1) + j] - mag[i * (W + 1) + j];
          }
        double best = -1;
        for (int64_t i = 0; i + side <= H; ++i)
          for (int64_t j = 0; j + side <= W; ++j) {
            const double sum = mag[(i + side) * (W + 1) + j + side] - mag[i * (W + 1) + j + side] -
                               mag[(i + side) * (W + 1) + j] + mag[i * (W + 1) + j];
            if (sum > best) best = sum, row[s] = i, col[s] = j;
          }
      }
    }

    // The noise: a continuous accumulator per sample; x_adv holds its (grid) evaluation.
    const int64_t per_patch = side * side * C;
    Tensor noise({n, side, side, C});
    for (int64_t i = 0; i < noise.numel(); ++i) noise[i] = rng.uniform(domain.lo, domain.hi);
    const auto paste = [&](int64_t s) {
      for (int64_t r = 0; r < side; ++r)
        for (int64_t q = 0; q < side; ++q)
          for (int64_t c = 0; c < C; ++c) {
            const float v = noise[((s * side + r) * side + q) * C + c];
            x_adv[((s * H + row[s] + r) * W + col[s] + q) * C + c] =
                p.pixel_valid ? domain.snap(v) : std::clamp(v, domain.lo, domain.hi);
          }
    };
    for (int64_t s = 0; s < n; ++s) paste(s);

    std::vector<bool> done(static_cast<size_t>(n), false);
    Tensor logits, value, grad;
    const auto update_done = [&]() -> Status {
      SLING_RETURN_IF_ERROR(target.predict(x_adv, logits));
      for (int64_t s = 0; s < n; ++s) {
        const int pred = top1_class(logits, s);
        if (targeted ? pred == b.targets[s] : pred != b.labels[s]) done[s] = true;
      }
      return Status::Ok();
    };
    SLING_RETURN_IF_ERROR(update_done());
    for (int it = 0; it < p.max_iter; ++it) {
      if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
      SLING_RETURN_IF_ERROR(target.loss_grad(x_adv, objective, value, grad));
      for (int64_t s = 0; s < n; ++s) {
        if (done[s]) continue;
        for (int64_t r = 0; r < side; ++r)
          for (int64_t q = 0; q < side; ++q)
            for (int64_t c = 0; c < C; ++c) {
              const float g = grad[((s * H + row[s] + r) * W + col[s] + q) * C + c];
              float& v = noise[s * per_patch + (r * side + q) * C + c];
              v = std::clamp(v + step * static_cast<float>((g > 0) - (g < 0)), domain.lo, domain.hi);
            }
        paste(s);
      }
      SLING_RETURN_IF_ERROR(update_done());
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_lavan_attack() { return std::make_unique<Lavan>(); }

}  // namespace slingshot
