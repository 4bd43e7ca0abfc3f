// Target assembly shared by the front ends (see target_builder.h).
#include "attacks/target_builder.h"

#include <limits>

#include "attacks/waveform_target.h"
#include "defenses/preprocessed_target.h"

namespace slingshot {

Result<ModelInputKind> model_input_kind(const QuantizedModel& model, const std::string& label) {
  const Shape shape = model.graph.input_shape();
  const bool quantized = !model.nodes.empty();
  if (shape == Shape{49, 10, 1}) return ModelInputKind::kKeywords;
  const bool image_shape = shape.size() == 3 && (shape[2] == 1 || shape[2] == 3);
  if (image_shape && (!quantized || model.nodes[0].output == image_input_grid())) return ModelInputKind::kImage;
  if (image_shape) {
    const ActivationGrid& g = model.nodes[0].output;
    return invalid_argument("model '" + label + "' takes " + shape_to_string(shape) + " images on an int8 input grid " +
                            "of scale " + std::to_string(g.scale) + ", zero point " + std::to_string(g.zero_point) +
                            ", not the 8-bit pixel grid of [0, 1] (scale 1/255, zero point -128), so no attack domain "
                            "fits it (import .tflite files with their input mapping, not --raw-input)");
  }
  return invalid_argument("model '" + label + "' takes " + shape_to_string(shape) +
                          " values: it is neither an image model (H x W x 1 or 3) nor a 49x10x1 MFCC keyword model, "
                          "so it has no attack domain (attacks perturb 8-bit images or keyword audio)");
}

Shape attack_input_shape(const QuantizedModel& model, ModelInputKind kind) {
  if (kind == ModelInputKind::kKeywords) return Shape{MfccConfig{}.clip_samples};
  return model.graph.input_shape();
}

Result<std::unique_ptr<Target>> make_recipe_model_target(const QuantizedModel& model, const std::string& label,
                                                         const TargetRecipe& recipe) {
  const bool quantized = !model.nodes.empty();
  ModelTargetOptions to;
  SLING_ASSIGN_OR_RETURN(to.engine, parse_engine(recipe.engine.empty() ? (quantized ? "int8-ref" : "float") : recipe.engine));
  // Behind a defense the model's own source is the inner one; `grad` then names the
  // defended target's (bpda or eot).
  const bool defended = !recipe.defenses.empty();
  const std::string source = defended ? (recipe.inner_grad.empty() ? (quantized ? "ste" : "float") : recipe.inner_grad)
                                      : (recipe.grad.empty() ? "ste" : recipe.grad);
  SLING_ASSIGN_OR_RETURN(to.source, parse_gradient_source(source));
  if (!quantized && to.source == GradientSource::kSte)
    return invalid_argument("model '" + label + "' is not quantized, so it has no straight-through gradient; use " +
                            (defended ? "the inner gradient source" : "the gradient source") + " float or fd");
  to.fd_step = recipe.fd_step;
  SLING_ASSIGN_OR_RETURN(const ModelInputKind kind, model_input_kind(model, label));
  const float inf = std::numeric_limits<float>::infinity();
  to.domain = kind == ModelInputKind::kKeywords ? InputDomain{-inf, inf, 0.0f} : image_domain();
  auto target = make_model_target(model, to);
  if (!target.ok()) return target.status().with_context("model '" + label + "'");
  if (kind == ModelInputKind::kImage) return target;
  return make_waveform_target(std::move(*target));
}

Result<std::unique_ptr<Target>> make_float_master_target(const QuantizedModel& model, const std::string& label) {
  TargetRecipe master;
  master.engine = "float";
  master.grad = "float";
  return make_recipe_model_target(model, label, master);
}

Result<std::vector<DefenseDescription>> add_recipe_defenses(const TargetRecipe& recipe, std::unique_ptr<Target>& target) {
  std::vector<DefenseDescription> described;
  if (recipe.defenses.empty()) {
    if (!recipe.inner_grad.empty())
      return invalid_argument("the inner gradient source applies behind a defense; without one set the gradient source");
    return described;
  }
  std::vector<std::unique_ptr<Preprocessor>> preprocessors;
  for (const std::string& spec : recipe.defenses) {
    SLING_ASSIGN_OR_RETURN(auto p, make_preprocessor(spec));
    described.push_back({p->name(), p->spec(), p->settings(), p->randomized(), p->differentiable()});
    preprocessors.push_back(std::move(p));
  }
  PreprocessedTargetOptions options;
  options.source = adaptive_gradient_source(preprocessors);
  if (!recipe.grad.empty()) {
    SLING_ASSIGN_OR_RETURN(options.source, parse_gradient_source(recipe.grad));
  }
  options.eot_samples = recipe.eot_samples;
  options.seed = recipe.seed;
  SLING_ASSIGN_OR_RETURN(target, make_preprocessed_target(std::move(target), std::move(preprocessors), options));
  return described;
}

std::string gradient_description(const Target& target, int eot_samples) {
  const std::string inner = gradient_source_name(target.inner_gradient_source());
  switch (target.gradient_source()) {
    case GradientSource::kBpda: return "bpda over " + inner;
    case GradientSource::kEot: return "eot (" + std::to_string(eot_samples) + " draws) over " + inner;
    default: return inner;
  }
}

}  // namespace slingshot
