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

// The members must agree on input shape, class count and input domain.
Result<std::unique_ptr<Target>> make_ensemble_target(std::vector<std::unique_ptr<Target>> members,
                                                     EnsembleCombine combine = EnsembleCombine::kMeanProbability);

// An ensemble file (JSON): {"format": "slingshot-ensemble", "version": 1,
//   "description": "...", "combine": "mean_probability", "members": ["a.safetensors", ...]}
// Member paths are relative to the file's folder. Unknown keys are errors.
struct EnsembleSpec {
  std::string description;
  EnsembleCombine combine = EnsembleCombine::kMeanProbability;
  std::vector<std::string> members;  // resolved paths
};
Result<EnsembleSpec> load_ensemble_spec(const std::string& path);
// Whether a path names an ensemble file (by its .json extension).
bool is_ensemble_path(const std::string& path);

}  // namespace slingshot
