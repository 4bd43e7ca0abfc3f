// Minimal adversarial distance: per example, how far the deployed model's decision
// boundary lies from the clean input along the direction a minimal-perturbation attack
// (DeepFool, C&W-L2, EAD) finds, refined by bisection on the deployed (integer) engine.
// Quantized models are claimed to sit farther from their boundary than float ones; this
// measures it on the model that is actually deployed, not on its float shadow.
#pragma once

#include <span>
#include <vector>

#include "attacks/attack.h"
#include "attacks/evaluate.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

struct BoundaryDistances {
  // Per sample in the threat model's norm: the distance to the first misclassified point
  // the bisection found; +inf where the attack found no adversarial input; NaN where the
  // clean input is already misclassified (no boundary to cross).
  std::vector<double> distance;
  std::vector<double> attack_distance;  // the attack's own output, before refinement
  int64_t found = 0;                    // samples with a finite distance
  int64_t misclassified = 0;            // clean inputs already wrong
  double median = 0;                    // over found samples (NaN if none)
  double mean = 0;
};

// Runs `attack` (eps unbounded) on target for x [N, ...] with labels y, then bisects each
// success along the segment from the clean input to the attack's output with
// `bisection_steps` deployed-engine predictions (the last point is always misclassified,
// so the distance never understates where the boundary was crossed). The norm is p.norm.
Result<BoundaryDistances> minimal_adversarial_distances(Attack& attack, Target& target, const Tensor& x,
                                                        std::span<const int> y, const AttackParams& p,
                                                        int bisection_steps = 12);

}  // namespace slingshot
