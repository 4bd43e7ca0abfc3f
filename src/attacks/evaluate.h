// Running an attack on a batch and judging it on the deployed engine, whatever engine
// gave the gradients. Every output is checked against the threat model: an attack that
// leaves the eps-ball, the value range or (pixel-valid) the grid is a bug and fails
// loudly instead of being projected quietly.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "attacks/attack.h"

namespace slingshot {

struct ExampleRecord {
  int64_t index = 0;              // position in the evaluated set
  int label = 0;                  // true class
  int target = -1;                // targeted: the class to reach
  int clean_prediction = 0;       // deployed engine on the clean input
  int adversarial_prediction = 0; // deployed engine on the attack's output
  bool attacked = false;          // false if skipped: clean input already wrong, or label == target
  bool success = false;           // untargeted: was right, now wrong; targeted: now the target
                                  // (with a reference: and the reference still right)
  Distortion distortion;          // of the attack's output against the clean input
  int reference_clean_prediction = -1;        // the reference model (DIVA), -1 without one
  int reference_adversarial_prediction = -1;
};

struct BatchOutcome {
  std::vector<ExampleRecord> records;
  Tensor x_adv;                   // the batch's adversarial inputs (clean where not attacked)
  TargetCounts counts;            // what the attack spent (the evaluation's own predictions excluded)
  TargetCounts reference_counts;  // what it spent on the reference model
  double seconds = 0;             // wall time of the attack itself
  double zero_density = -1;       // mean gradient zero density over loss_grad calls, -1 if none
  std::vector<std::string> notes; // the attack's warnings (sanity checks)
};

// Targets for targeted mode: p.target for every sample, or a random class other than the
// label, drawn from (p.seed, index) so a resumed run draws the same ones.
std::vector<int> choose_targets(const AttackParams& p, std::span<const int> labels, int64_t first_index, int num_classes);

// Attacks samples [first_index, first_index + N) given as x0 [N, ...] and labels. x0 must
// lie on the domain grid in pixel-valid mode. The attack's randomness derives from
// (p.seed, first_index), so batches are reproducible on their own.
// With a `reference` model (required by attacks that need_reference(), such as DIVA) only
// samples both models classify correctly are attacked, and success also requires the
// reference to stay correct on the adversarial input.
Result<BatchOutcome> attack_batch(Attack& attack, Target& target, const Tensor& x0, std::span<const int> labels,
                                  int64_t first_index, const AttackParams& p, Target* reference = nullptr);

struct AttackSummary {
  int64_t samples = 0;
  double clean_accuracy = 0;      // deployed engine, clean inputs
  double robust_accuracy = 0;     // deployed engine, adversarial inputs (true class kept)
  double success_rate = 0;        // successes / attacked samples
  int64_t attacked = 0;
  Distortion mean_distortion;     // over successful examples
  // With a reference model (DIVA): its accuracy on the clean and the adversarial inputs;
  // -1 without one.
  double reference_clean_accuracy = -1;
  double reference_robust_accuracy = -1;
};
AttackSummary summarize(std::span<const ExampleRecord> records);

}  // namespace slingshot
