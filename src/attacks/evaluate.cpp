// Batch attack evaluation (see evaluate.h).
#include "attacks/evaluate.h"

#include <chrono>
#include <cmath>
#include <string>

namespace slingshot {
namespace {

TargetCounts counts_since(const TargetCounts& before, const TargetCounts& after) {
  return {after.predictions - before.predictions, after.gradients - before.gradients,
          after.fd_evaluations - before.fd_evaluations};
}

Rng batch_rng(uint64_t seed, int64_t first_index, uint64_t purpose) {
  Rng mix(seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(first_index) * 4 + purpose + 1)));
  return Rng(mix.next_u64());
}

}  // namespace

std::vector<int> choose_targets(const AttackParams& p, std::span<const int> labels, int64_t first_index, int num_classes) {
  std::vector<int> targets(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (p.target >= 0) {
      targets[i] = p.target;
    } else {
      Rng r = batch_rng(p.seed, first_index + static_cast<int64_t>(i), 2);
      const int offset = 1 + static_cast<int>(r.below(static_cast<uint32_t>(num_classes - 1)));
      targets[i] = (labels[i] + offset) % num_classes;
    }
  }
  return targets;
}

Result<BatchOutcome> attack_batch(Attack& attack, Target& target, const Tensor& x0, std::span<const int> labels,
                                  int64_t first_index, const AttackParams& p, Target* reference) {
  const int classes = target.num_classes();
  SLING_RETURN_IF_ERROR(attack.validate(p, classes));
  const int64_t n = x0.dim(0);
  if (static_cast<int64_t>(labels.size()) != n)
    return invalid_argument(std::to_string(n) + " inputs but " + std::to_string(labels.size()) + " labels");
  for (int64_t i = 0; i < n; ++i)
    if (labels[i] < 0 || labels[i] >= classes)
      return invalid_argument("label " + std::to_string(labels[i]) + " of sample " + std::to_string(first_index + i) +
                              " is outside [0, " + std::to_string(classes) + ")");
  if (p.targeted && classes < 2) return invalid_argument("targeted attacks need at least 2 classes");
  if (attack.needs_reference() && !reference)
    return invalid_argument(std::string("attack '") + attack.name() +
                            "' needs a reference model to compare the deployed one with (the float master)");
  if (reference && (reference->num_classes() != classes || reference->input_shape() != target.input_shape()))
    return invalid_argument("the reference model's input or classes differ from the attacked model's");
  const InputDomain domain = target.domain();
  if (p.pixel_valid && !on_domain_grid(x0, domain))
    return invalid_argument("clean inputs are not on the input grid (k / " + std::to_string(static_cast<int>(domain.levels)) +
                            "); pixel-valid attacks start from real 8-bit images or 16-bit audio");

  // A randomized defense restarts its draws per batch, so batches reproduce on their own.
  target.reseed(batch_rng(p.seed, first_index, 3).next_u64());
  BatchOutcome out;
  Tensor logits;
  SLING_RETURN_IF_ERROR(target.predict(x0, logits));
  const std::vector<int> clean = top1_classes(logits);
  std::vector<int> reference_clean;
  if (reference) {
    SLING_RETURN_IF_ERROR(reference->predict(x0, logits));
    reference_clean = top1_classes(logits);
  }
  const std::vector<int> targets = p.targeted ? choose_targets(p, labels, first_index, classes) : std::vector<int>();

  // Only samples that need it are attacked: clean-correct ones, or (targeted) those not at
  // the target; with a reference, also only those the reference classifies correctly.
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < n; ++i) {
    const bool needs = p.targeted ? labels[i] != targets[i] && clean[i] != targets[i] : clean[i] == labels[i];
    if (needs && (!reference || reference_clean[i] == labels[i])) chosen.push_back(i);
  }
  const int64_t per = n ? x0.numel() / n : 0;
  out.x_adv = x0;
  if (!chosen.empty()) {
    Shape s = x0.shape();
    s[0] = static_cast<int64_t>(chosen.size());
    Tensor sub(s), sub_adv;
    std::vector<int> sub_labels, sub_targets;
    for (size_t c = 0; c < chosen.size(); ++c) {
      std::copy(x0.data() + chosen[c] * per, x0.data() + (chosen[c] + 1) * per, sub.data() + static_cast<int64_t>(c) * per);
      sub_labels.push_back(labels[chosen[c]]);
      if (p.targeted) sub_targets.push_back(targets[chosen[c]]);
    }
    Rng rng = batch_rng(p.seed, first_index, 0);
    const TargetCounts before = target.counts();
    const TargetCounts reference_before = reference ? reference->counts() : TargetCounts{};
    const auto t0 = std::chrono::steady_clock::now();
    SLING_RETURN_IF_ERROR(attack.run(target, AttackBatch{sub, sub_labels, sub_targets, reference}, p, rng, sub_adv));
    out.notes = attack.take_notes();
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out.counts = counts_since(before, target.counts());
    if (reference) out.reference_counts = counts_since(reference_before, reference->counts());
    if (out.counts.gradients > 0) out.zero_density = target.last_zero_density();
    if (sub_adv.shape() != sub.shape())
      return internal_error(std::string("attack '") + attack.name() + "' returned " + shape_to_string(sub_adv.shape()) +
                            " for inputs " + shape_to_string(sub.shape()));
    for (size_t c = 0; c < chosen.size(); ++c) {
      const float* a = sub_adv.data() + static_cast<int64_t>(c) * per;
      const float* a0 = sub.data() + static_cast<int64_t>(c) * per;
      const Distortion d = distortion(a, a0, per);
      for (int64_t i = 0; i < per; ++i) {
        const bool in_range = a[i] >= domain.lo && a[i] <= domain.hi;
        const bool on_grid = !p.pixel_valid || domain.on_grid(a[i]);
        if (!in_range || !on_grid)
          return internal_error(std::string("attack '") + attack.name() + "' produced value " + std::to_string(a[i]) +
                                (in_range ? " off the input grid" : " outside the input range"));
      }
      if (attack.bounded_by_eps() && distortion_norm(d, p.norm) > static_cast<double>(p.eps) * (1 + 1e-5) + 1e-6)
        return internal_error(std::string("attack '") + attack.name() + "' left the eps-ball: L" + norm_name(p.norm) +
                              " distortion " + std::to_string(distortion_norm(d, p.norm)) + " > eps " +
                              std::to_string(p.eps));
      std::copy(a, a + per, out.x_adv.data() + chosen[c] * per);
    }
  }
  // Judge on the deployed engine; these predictions are the evaluation's, not the attack's.
  SLING_RETURN_IF_ERROR(target.predict(out.x_adv, logits));
  const std::vector<int> adv = top1_classes(logits);
  std::vector<int> reference_adv;
  if (reference) {
    SLING_RETURN_IF_ERROR(reference->predict(out.x_adv, logits));
    reference_adv = top1_classes(logits);
  }
  std::vector<bool> attacked(static_cast<size_t>(n), false);
  for (int64_t i : chosen) attacked[i] = true;
  for (int64_t i = 0; i < n; ++i) {
    ExampleRecord r;
    r.index = first_index + i;
    r.label = labels[i];
    r.target = p.targeted ? targets[i] : -1;
    r.clean_prediction = clean[i];
    r.adversarial_prediction = adv[i];
    r.attacked = attacked[i];
    r.success = r.attacked && (p.targeted ? adv[i] == targets[i] : adv[i] != labels[i]);
    if (reference) {
      r.reference_clean_prediction = reference_clean[i];
      r.reference_adversarial_prediction = reference_adv[i];
      r.success = r.success && reference_adv[i] == labels[i];
    }
    r.distortion = distortion(out.x_adv.data() + i * per, x0.data() + i * per, per);
    out.records.push_back(r);
  }
  return out;
}

AttackSummary summarize(std::span<const ExampleRecord> records) {
  AttackSummary s;
  s.samples = static_cast<int64_t>(records.size());
  int64_t clean = 0, robust = 0, success = 0, with_reference = 0, reference_clean = 0, reference_robust = 0;
  for (const ExampleRecord& r : records) {
    clean += r.clean_prediction == r.label;
    robust += r.adversarial_prediction == r.label;
    if (r.reference_clean_prediction >= 0) {
      ++with_reference;
      reference_clean += r.reference_clean_prediction == r.label;
      reference_robust += r.reference_adversarial_prediction == r.label;
    }
    s.attacked += r.attacked;
    if (r.success) {
      ++success;
      s.mean_distortion.l0 += r.distortion.l0;
      s.mean_distortion.l1 += r.distortion.l1;
      s.mean_distortion.l2 += r.distortion.l2;
      s.mean_distortion.linf += r.distortion.linf;
    }
  }
  if (s.samples) {
    s.clean_accuracy = static_cast<double>(clean) / static_cast<double>(s.samples);
    s.robust_accuracy = static_cast<double>(robust) / static_cast<double>(s.samples);
  }
  if (with_reference) {
    s.reference_clean_accuracy = static_cast<double>(reference_clean) / static_cast<double>(with_reference);
    s.reference_robust_accuracy = static_cast<double>(reference_robust) / static_cast<double>(with_reference);
  }
  if (s.attacked) s.success_rate = static_cast<double>(success) / static_cast<double>(s.attacked);
  if (success) {
    const double k = static_cast<double>(success);
    s.mean_distortion = {s.mean_distortion.l0 / k, s.mean_distortion.l1 / k, s.mean_distortion.l2 / k,
                         s.mean_distortion.linf / k};
  }
  return s;
}

}  // namespace slingshot
