// DIVA (Hao et al., "A Tale of Two Models: Constructing Evasive Attacks on Edge Models",
// MLSys 2022): projected gradient ascent on the divergence between a reference model (the
// float master) and the deployed quantized one,
//   J(x) = p_ref(y | x) - c * p_dep(y | x)          (targeted: p_ref(y | x) + c * p_dep(t | x))
// so the deployed model is fooled while the reference keeps the true class: an input that
// passes every check run on the float model and still fails on the device. Probabilities,
// not cross-entropy, because they saturate: once the reference is confident, its term
// stops pulling and the step goes to the deployed model.
//
// Two additions make it work on well-quantized int8 models, whose decision boundary lies
// within a few grid steps of the float one:
//  - c adapts per sample (`adapt`): up while both models are right, down once both are
//    fooled, so the iterate hovers where the boundaries part;
//  - when one step takes a sample from "both right" to "both fooled", the segment between
//    the two grid points is bisected, judged on both models, for a point between the two
//    boundaries.
// A sample keeps its first point at which the deployed model is fooled and the reference
// is right; samples that never diverge keep the last iterate.
#include <cmath>

#include "attacks/attack.h"
#include "attacks/gradient_steps.h"

namespace slingshot {
namespace {

constexpr int kBisectionRounds = 6;

enum class Verdict { kBothRight, kDiverged, kBothFooled, kOnlyReferenceFooled };

class Diva final : public Attack {
 public:
  const char* name() const override { return "diva"; }
  AttackFamily family() const override { return AttackFamily::kQuantization; }
  int default_max_iter() const override { return 20; }
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2}; }
  bool needs_reference() const override { return true; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.eps_step = use.restarts = true;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "c", .default_value = 1, .min = 0, .max = kNoBound, .min_exclusive = true, .max_exclusive = true,
             .doc = "initial weight of the deployed model's term against the reference's"},
        {.name = "adapt", .default_value = 1.5, .min = 1, .max = kNoBound, .max_exclusive = true,
         .doc = "per-sample factor on c while the reference is fooled too"}};
  }
  Status check(const AttackParams& p) const override {
    if (!(setting(p, "c") > 0)) return invalid_argument("diva: c (the weight of the deployed model's term) must be > 0");
    if (!(setting(p, "adapt") >= 1)) return invalid_argument("diva: adapt (the per-sample factor on c) must be >= 1");
    return Status::Ok();
  }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    if (!b.reference) return invalid_argument("diva needs a reference model to diverge from (the float master)");
    if (target.gradient_source() == GradientSource::kFloat)
      return invalid_argument("diva needs the deployed model's own gradient (ste or fd); with 'float' both terms "
                              "would come from the float master");
    const float c = static_cast<float>(setting(p, "c"));
    const float adapt = static_cast<float>(setting(p, "adapt"));
    const float step = p.eps_step > 0 ? p.eps_step : 2.5f * p.eps / static_cast<float>(p.max_iter);
    const InputDomain domain = target.domain();
    const Objective deployed_objective{LossKind::kProbability, b.labels, b.targets};
    const Objective reference_objective{LossKind::kProbability, b.labels, {}};
    const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);

    std::vector<bool> done(static_cast<size_t>(n), false);
    int64_t remaining = n;
    x_adv = b.x0;
    Tensor continuous, evaluated, previous, value, deployed_grad, reference_grad;
    std::vector<float> weight;
    std::vector<Verdict> verdict, previous_verdict;
    const int attempts = std::max(1, p.num_random_init);
    for (int a = 0; a < attempts && remaining > 0; ++a) {
      if (p.num_random_init > 0) {
        random_start(continuous, b.x0, p.norm, p.eps, domain, rng);
      } else {
        continuous = b.x0;
      }
      project_iterate(continuous, evaluated, b.x0, p.norm, p.eps, domain, p.pixel_valid);
      weight.assign(static_cast<size_t>(n), c);
      SLING_RETURN_IF_ERROR(judge(target, *b.reference, b, evaluated, previous_verdict));
      for (int it = 0; it < p.max_iter && remaining > 0; ++it) {
        SLING_RETURN_IF_ERROR(target.loss_grad(evaluated, deployed_objective, value, deployed_grad));
        SLING_RETURN_IF_ERROR(b.reference->loss_grad(evaluated, reference_objective, value, reference_grad));
        // The deployed term ascends its objective (-p_dep(y) or p_dep(t)); the reference's
        // objective is -p_ref(y), so subtracting its gradient raises p_ref(y).
        for (int64_t s = 0; s < n; ++s)
          for (int64_t i = s * per; i < (s + 1) * per; ++i)
            deployed_grad[i] = weight[s] * deployed_grad[i] - reference_grad[i];
        previous = evaluated;
        ascend(continuous, deployed_grad, p.norm, step);
        project_iterate(continuous, evaluated, b.x0, p.norm, p.eps, domain, p.pixel_valid);
        SLING_RETURN_IF_ERROR(judge(target, *b.reference, b, evaluated, verdict));

        std::vector<int64_t> crossed;  // both right before this step, both fooled after it
        for (int64_t s = 0; s < n; ++s) {
          if (done[s]) continue;
          std::copy(evaluated.data() + s * per, evaluated.data() + (s + 1) * per, x_adv.data() + s * per);
          if (verdict[s] == Verdict::kDiverged) {
            done[s] = true;
            --remaining;
            continue;
          }
          if (verdict[s] == Verdict::kBothFooled && previous_verdict[s] == Verdict::kBothRight) crossed.push_back(s);
          // Both right: lean on the deployed term; the reference fooled: on the reference's.
          weight[s] = verdict[s] == Verdict::kBothRight ? weight[s] * adapt : weight[s] / adapt;
        }
        if (!crossed.empty()) SLING_RETURN_IF_ERROR(bisect(target, b, p, domain, previous, evaluated, crossed, x_adv, done, remaining));
        previous_verdict = verdict;
      }
    }
    return Status::Ok();
  }

 private:
  // Each sample of x judged on both models.
  static Status judge(Target& target, Target& reference, const AttackBatch& b, const Tensor& x, std::vector<Verdict>& out) {
    Tensor logits;
    SLING_RETURN_IF_ERROR(target.predict(x, logits));
    const std::vector<int> deployed = top1_classes(logits);
    SLING_RETURN_IF_ERROR(reference.predict(x, logits));
    const std::vector<int> kept = top1_classes(logits);
    out.resize(deployed.size());
    for (size_t s = 0; s < deployed.size(); ++s) {
      const bool fooled = b.targets.empty() ? deployed[s] != b.labels[s] : deployed[s] == b.targets[s];
      const bool right = kept[s] == b.labels[s];
      out[s] = right ? (fooled ? Verdict::kDiverged : Verdict::kBothRight)
                     : (fooled ? Verdict::kBothFooled : Verdict::kOnlyReferenceFooled);
    }
    return Status::Ok();
  }

  // Bisects, for each sample in `rows`, the segment from `right` (both models right) to
  // `fooled` (both fooled) for a point where only the deployed model is fooled.
  static Status bisect(Target& target, const AttackBatch& b, const AttackParams& p, const InputDomain& domain,
                       const Tensor& right, const Tensor& fooled, const std::vector<int64_t>& rows, Tensor& x_adv,
                       std::vector<bool>& done, int64_t& remaining) {
    const int64_t k = static_cast<int64_t>(rows.size()), per = right.numel() / right.dim(0);
    Shape shape = right.shape();
    shape[0] = k;
    Tensor lo(shape), hi(shape), x0(shape), mid(shape);
    std::vector<int> labels(static_cast<size_t>(k)), targets;
    for (int64_t r = 0; r < k; ++r) {
      const int64_t s = rows[r];
      std::copy(right.data() + s * per, right.data() + (s + 1) * per, lo.data() + r * per);
      std::copy(fooled.data() + s * per, fooled.data() + (s + 1) * per, hi.data() + r * per);
      std::copy(b.x0.data() + s * per, b.x0.data() + (s + 1) * per, x0.data() + r * per);
      labels[r] = b.labels[s];
      if (!b.targets.empty()) targets.push_back(b.targets[s]);
    }
    const AttackBatch sub{x0, labels, targets, b.reference};
    std::vector<bool> searching(static_cast<size_t>(k), true);
    std::vector<Verdict> verdict;
    for (int round = 0; round < kBisectionRounds; ++round) {
      for (int64_t i = 0; i < mid.numel(); ++i) mid[i] = 0.5f * (lo[i] + hi[i]);
      // Between two points of the ball, so only the grid snap (toward x0) can move it.
      project(mid, x0, p.norm, p.eps, domain, p.pixel_valid);
      SLING_RETURN_IF_ERROR(judge(target, *b.reference, sub, mid, verdict));
      for (int64_t r = 0; r < k; ++r) {
        if (!searching[r]) continue;
        Tensor& end = verdict[r] == Verdict::kBothRight ? lo : hi;
        std::copy(mid.data() + r * per, mid.data() + (r + 1) * per, end.data() + r * per);
        if (verdict[r] == Verdict::kDiverged) {
          const int64_t s = rows[r];
          std::copy(mid.data() + r * per, mid.data() + (r + 1) * per, x_adv.data() + s * per);
          done[s] = true;
          --remaining;
        }
        // Found, or the reference's boundary comes first on this segment.
        if (verdict[r] == Verdict::kDiverged || verdict[r] == Verdict::kOnlyReferenceFooled) searching[r] = false;
      }
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Attack> make_diva_attack() { return std::make_unique<Diva>(); }

}  // namespace slingshot
