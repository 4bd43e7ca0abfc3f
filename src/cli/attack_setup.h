// Assembling an input attack the way `slingshot attack` and `slingshot sweep` both do:
// the attacked target (a model file or an ensemble file of model files, defenses in
// front), DIVA's float-master reference, and the evaluated samples in the attack's domain.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attacks/target_builder.h"
#include "data/dataset.h"
#include "defenses/ensemble.h"

namespace slingshot::cli {

// The model files an attack runs on: one, or an ensemble file's members.
struct LoadedModels {
  std::vector<std::unique_ptr<QuantizedModel>> models;  // the targets point into these
  EnsembleCombine combine = EnsembleCombine::kMeanProbability;
};

// The undefended target of `model_path`: a model file, or an ensemble file (*.json) of
// model files, each on the recipe's engine and gradient source.
Result<std::unique_ptr<Target>> build_attack_target(const std::string& model_path, const TargetRecipe& recipe,
                                                    LoadedModels& loaded);

// DIVA's reference: the float master of the one attacked model file, on the float engine
// with float gradients, in the same input domain. `attack` names the attack in errors.
Result<std::unique_ptr<Target>> build_reference_target(const std::string& attack, const std::string& model_path,
                                                       const LoadedModels& loaded);

// Puts the recipe's pre-processing defenses in front of `target`; returns their report
// entries (name, settings, canonical spec, randomized, differentiable).
Result<nlohmann::json> add_defenses_described(const TargetRecipe& recipe, std::unique_ptr<Target>& target);

// The first `n` test samples of `data` for `target`: 16-bit waveforms for keyword models,
// else images (generated house numbers snapped to 8 bits, as a camera delivers them). In
// pixel-valid mode the inputs must lie on the target's domain grid.
Result<Dataset> load_attack_data(const std::string& data, int n, const Target& target, bool pixel_valid);

}  // namespace slingshot::cli
