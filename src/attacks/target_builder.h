// Assembling the attacked Target from a model the way every front end does (the CLI's
// `attack`, the web API): the deployed engine and gradient source with their defaults,
// the attack domain the model's input implies (8-bit images, or 16-bit waveforms through
// the MLPerf MFCC front end for 49x10x1 keyword models), pre-processing defenses with
// adaptive gradients, and DIVA's float-master reference.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attacks/target.h"
#include "defenses/preprocessor.h"
#include "quant/quantized_model.h"

namespace slingshot {

// How to build a target. Empty strings take the defaults.
struct TargetRecipe {
  std::string engine;                 // deployed engine; "": int8-ref, or float for float models
  std::string grad;                   // undefended: the model's source ("": ste); defended: bpda or eot
                                      // ("": eot if a defense is randomized, else bpda)
  std::string inner_grad;             // defended: the model's own source ("": ste, float for float models)
  std::vector<std::string> defenses;  // pre-processor specs, applied in order
  int eot_samples = 8;                // eot: draws averaged per gradient
  uint64_t seed = 0;                  // the defenses' draws until reseed()
  float fd_step = 0;                  // fd: difference step (0: one grid step)
};

// What a model reads, and so what an attack perturbs.
enum class ModelInputKind {
  kImage,     // 8-bit images in [0, 1] (H x W x 1 or 3)
  kKeywords,  // 49x10x1 MFCC features, attacked as 16000-sample 16-bit waveforms
};
// Refuses models that fit neither; `label` names the model in the error.
Result<ModelInputKind> model_input_kind(const QuantizedModel& model, const std::string& label);
// The shape attacks see: the image shape, or [16000] for keyword models.
Shape attack_input_shape(const QuantizedModel& model, ModelInputKind kind);

// The undefended target of one model on the recipe's engine and source (the inner source
// when the recipe has defenses). `model` must outlive it.
Result<std::unique_ptr<Target>> make_recipe_model_target(const QuantizedModel& model, const std::string& label,
                                                         const TargetRecipe& recipe);

// DIVA's reference: the float master of `model` on the float engine with float gradients,
// in the same domain (waveform front end included), undefended.
Result<std::unique_ptr<Target>> make_float_master_target(const QuantizedModel& model, const std::string& label);

// A defense as reports list it.
struct DefenseDescription {
  std::string name;
  std::string spec;                  // canonical, every setting spelled out
  PreprocessorSettings settings;
  bool randomized = false;
  bool differentiable = false;
};
// Puts the recipe's defenses in front of `target` (nothing without any); returns them.
Result<std::vector<DefenseDescription>> add_recipe_defenses(const TargetRecipe& recipe, std::unique_ptr<Target>& target);

// "ste", or behind defenses "bpda over ste" / "eot (8 draws) over ste".
std::string gradient_description(const Target& target, int eot_samples);

}  // namespace slingshot
