// Assembling an input attack the way `slingshot attack`, `detect` and `sweep` do: the
// attack flags `attack` and `detect` share, the attacked target (a model file or an
// ensemble file of model files, defenses in front), DIVA's float-master reference, and
// the evaluated samples in the attack's domain.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "attacks/target_builder.h"
#include "data/dataset.h"
#include "defenses/ensemble.h"

namespace slingshot::cli {

// The flags of one input attack on one model (`attack`, `detect`).
struct AttackFlags {
  std::string model, data = "shapes", attack, engine, grad, inner_grad, norm, eps,
                     eps_step = "0", loss = "ce";  // norm, eps "": the attack's first norm, default_eps(norm)
  std::vector<std::string> settings;  // key=value, attack-specific
  std::vector<std::string> defenses;  // pre-processor specs, applied in order
  int eot_samples = 8;
  int n = 100, max_iter = -1, restarts = 0, target = -1, batch_size = 32;
  int threads = 0;  // 0: every core
  int64_t max_queries = 10000;
  uint64_t seed = 0;
  bool targeted = false, no_pixel_valid = false;
  float fd_step = 0;
};
// Registers those flags on `sub`; `f` must outlive the parse.
void add_attack_flags(CLI::App* sub, AttackFlags& f);
// The attack's parameters. `default_max_iter` and `default_norm`: the attack's own, used
// when --max-iter or --norm is not given; without --eps, eps is default_eps(norm).
Result<AttackParams> attack_params_from(const AttackFlags& f, int default_max_iter, Norm default_norm);
// How the flags build each model's target.
TargetRecipe attack_recipe_from(const AttackFlags& f);

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
