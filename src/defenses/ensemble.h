// Ensembles as a Target: Bernhard et al.'s (2019) multi-bitwidth ensemble (the same
// network quantized at several bitwidths, whose adversarial examples transfer poorly
// between members) and ensembles of defended models.
//
// The ensemble's logits are log(mean_m softmax(z_m)) (mean probability, the default) or
// mean_m z_m (mean logits); its top-1 is therefore the mean-probability (or mean-logit)
// decision. predict() runs every member's deployed engine; loss_grad() chains the
// objective through the combination into every member's gradient source, so white-box
// attacks see the whole ensemble.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attacks/target.h"

namespace slingshot {

enum class EnsembleCombine { kMeanProbability, kMeanLogits };
const char* ensemble_combine_name(EnsembleCombine c);  // "mean_probability", "mean_logits"

// The members must agree on input shape, class count and input domain. Members behind
// pre-processing defenses (an ensemble of defended models) are crossed by their own
// adaptive gradients: bpda through each, and when a member is randomized, loss_grad()
// averages `eot_samples` draws of the whole ensemble (EOT); the ensemble's gradient
// source then reads eot (randomized), bpda (defended) or the members' own.
Result<std::unique_ptr<Target>> make_ensemble_target(std::vector<std::unique_ptr<Target>> members,
                                                     EnsembleCombine combine = EnsembleCombine::kMeanProbability,
                                                     int eot_samples = 1);

// An ensemble file (JSON): {"format": "slingshot-ensemble", "version": 1 or 2,
//   "description": "...", "combine": "mean_probability", "members": [...]}
// Version 1 members are model file paths. Version 2 members are paths or objects
//   {"model": "a.safetensors", "defenses": ["bit_depth:bits=5"], "engine": "int8-ref"}
// (defenses and engine optional): the member runs on its own engine behind its own
// pre-processing defenses, in order. Member paths are relative to the file's folder.
// Unknown keys are errors.
struct EnsembleMember {
  std::string model;                  // resolved path
  std::vector<std::string> defenses;  // pre-processor specs in front of this member
  std::string engine;                 // "": the attack's engine
};
struct EnsembleSpec {
  std::string description;
  EnsembleCombine combine = EnsembleCombine::kMeanProbability;
  std::vector<EnsembleMember> members;
};
Result<EnsembleSpec> load_ensemble_spec(const std::string& path);
// Whether a path names an ensemble file (by its .json extension).
bool is_ensemble_path(const std::string& path);

}  // namespace slingshot
