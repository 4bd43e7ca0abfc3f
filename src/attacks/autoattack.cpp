// AutoAttack (Croce & Hein 2020), the standard version: APGD-CE, then APGD-T (targeted
// DLR toward each of the top-k other classes), then FAB-T, then Square, each run only on
// the samples every earlier attack failed on. FAB is not implemented here; its place is
// taken by targeted C&W (cw-linf for Linf, cw-l2 for L2) over the same target classes, a
// substitution the report states.
//
// It also runs AutoAttack's sanity checks and reports them as notes: gradients that are
// (almost) all zero, a black-box attack (Square) succeeding where every white-box one
// failed (a sign of gradient masking), and a randomized target (which needs EOT).
#include <algorithm>
#include <numeric>
#include <string>
#include <utility>

#include "attacks/attack.h"

namespace slingshot {
namespace {

class AutoAttack final : public Attack {
 public:
  const char* name() const override { return "autoattack"; }
  AttackFamily family() const override { return AttackFamily::kWhiteBox; }
  int default_max_iter() const override { return 100; }  // the standard version's APGD budget
  std::vector<Norm> norms() const override { return {Norm::kLinf, Norm::kL2}; }
  SharedParamUse shared_params() const override {
    SharedParamUse use = Attack::shared_params();
    use.targeted = false;
    return use;
  }
  std::vector<SettingSpec> settings() const override {
    return {{.name = "n_target_classes", .kind = SettingKind::kInteger, .default_value = 9, .min = 1, .max = 100000,
             .doc = "target classes of the targeted stages (capped at classes - 1)"}};
  }
  Status check(const AttackParams& p) const override {
    if (p.targeted)
      return invalid_argument("autoattack is untargeted: its APGD-T and FAB-T stages choose their own target classes");
    const double k = setting(p, "n_target_classes");
    if (k < 1 || k != static_cast<int>(k))
      return invalid_argument("autoattack: n_target_classes must be a whole number >= 1, got " + std::to_string(k));
    return Status::Ok();
  }
  std::vector<std::string> take_notes() override { return std::exchange(notes_, {}); }

  Status run(Target& target, const AttackBatch& b, const AttackParams& p, Rng& rng, Tensor& x_adv) override {
    notes_.clear();
    const int64_t n = b.x0.dim(0), per = b.x0.numel() / std::max<int64_t>(n, 1);
    const int classes = target.num_classes();
    x_adv = b.x0;
    Tensor logits;
    SLING_RETURN_IF_ERROR(target.predict(b.x0, logits));
    // Target classes of APGD-T / FAB-T: the k most likely other classes at the clean input.
    const int k = std::min(static_cast<int>(setting(p, "n_target_classes")), classes - 1);
    std::vector<std::vector<int>> ranked(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s) {
      std::vector<int> order(static_cast<size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      const float* z = logits.data() + s * classes;
      std::stable_sort(order.begin(), order.end(), [&](int a, int c) { return z[a] > z[c]; });
      for (int c : order)
        if (c != b.labels[s] && static_cast<int>(ranked[s].size()) < k) ranked[s].push_back(c);
    }
    std::vector<bool> fooled(static_cast<size_t>(n), false);
    const char* fab_substitute = p.norm == Norm::kLinf ? "cw-linf" : "cw-l2";
    struct Stage {
      const char* attack;
      int target_rank;  // -1: untargeted
    };
    std::vector<Stage> stages{{"apgd-ce", -1}};
    for (int r = 0; r < k; ++r) stages.push_back({"apgd-dlr", r});
    for (int r = 0; r < k; ++r) stages.push_back({fab_substitute, r});
    stages.push_back({"square", -1});

    double max_zero_density = 0;
    bool any_gradient = false;
    for (const Stage& stage : stages) {
      std::vector<int64_t> left;
      for (int64_t s = 0; s < n; ++s)
        if (!fooled[s]) left.push_back(s);
      if (left.empty()) break;
      SLING_ASSIGN_OR_RETURN(auto attack, make_attack(stage.attack));
      Shape shape = b.x0.shape();
      shape[0] = static_cast<int64_t>(left.size());
      Tensor sub(shape), out;
      std::vector<int> labels, targets;
      for (size_t j = 0; j < left.size(); ++j) {
        std::copy(b.x0.data() + left[j] * per, b.x0.data() + (left[j] + 1) * per, sub.data() + static_cast<int64_t>(j) * per);
        labels.push_back(b.labels[left[j]]);
        if (stage.target_rank >= 0) targets.push_back(ranked[left[j]][stage.target_rank]);
      }
      AttackParams sp = p;
      sp.extra.clear();
      sp.targeted = stage.target_rank >= 0;
      sp.target = -1;
      const int64_t gradients_before = target.counts().gradients;
      SLING_RETURN_IF_ERROR(attack->run(target, AttackBatch{sub, labels, targets}, sp, rng, out));
      if (target.counts().gradients > gradients_before) {
        any_gradient = true;
        max_zero_density = std::max(max_zero_density, target.last_zero_density());
      }
      SLING_RETURN_IF_ERROR(target.predict(out, logits));
      int64_t newly = 0;
      for (size_t j = 0; j < left.size(); ++j) {
        if (top1_class(logits, static_cast<int64_t>(j)) == labels[j]) continue;  // untargeted success counts
        fooled[left[j]] = true;
        ++newly;
        std::copy(out.data() + static_cast<int64_t>(j) * per, out.data() + static_cast<int64_t>(j + 1) * per,
                  x_adv.data() + left[j] * per);
      }
      if (std::string(stage.attack) == "square" && newly > 0)
        notes_.push_back("Square (black-box) fooled " + std::to_string(newly) +
                         " sample(s) that every white-box attack missed: a sign of gradient masking; do not trust the "
                         "white-box robust accuracy of this target");
    }
    if (any_gradient && max_zero_density > 0.99)
      notes_.push_back("the gradients were " + std::to_string(max_zero_density * 100).substr(0, 5) +
                       "% exactly zero: the white-box attacks saw a flat landscape (try --grad ste or float)");
    if (target.randomized() && target.gradient_source() != GradientSource::kEot)
      notes_.push_back(std::string("the target is randomized but its gradients are ") +
                       gradient_source_name(target.gradient_source()) +
                       ", a single draw each: evaluate with eot gradients");
    notes_.push_back(std::string("FAB-T is substituted by targeted ") + fab_substitute + " (FAB is not implemented)");
    return Status::Ok();
  }

 private:
  std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<Attack> make_autoattack_attack() { return std::make_unique<AutoAttack>(); }

}  // namespace slingshot
