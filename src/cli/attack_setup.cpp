// Shared assembly of input attacks (see attack_setup.h).
#include "cli/attack_setup.h"

#include <cmath>

#include "attacks/threat_model.h"
#include "cli/commands.h"

namespace slingshot::cli {

Result<std::unique_ptr<Target>> build_attack_target(const std::string& model_path, const TargetRecipe& recipe,
                                                    LoadedModels& loaded) {
  std::vector<std::string> paths{model_path};
  if (is_ensemble_path(model_path)) {
    SLING_ASSIGN_OR_RETURN(EnsembleSpec spec, load_ensemble_spec(model_path));
    paths = spec.members;
    loaded.combine = spec.combine;
  }
  std::vector<std::unique_ptr<Target>> targets;
  for (const std::string& path : paths) {
    SLING_ASSIGN_OR_RETURN(QuantizedModel m, load_any_model_arg(path));
    loaded.models.push_back(std::make_unique<QuantizedModel>(std::move(m)));
    SLING_ASSIGN_OR_RETURN(auto t, make_recipe_model_target(*loaded.models.back(), path, recipe));
    targets.push_back(std::move(t));
  }
  if (targets.size() == 1) return std::move(targets[0]);
  return make_ensemble_target(std::move(targets), loaded.combine);
}

Result<std::unique_ptr<Target>> build_reference_target(const std::string& attack, const std::string& model_path,
                                                       const LoadedModels& loaded) {
  if (loaded.models.size() != 1)
    return invalid_argument("--attack " + attack + " compares one quantized model with its float master; an ensemble has no single master");
  if (loaded.models[0]->nodes.empty())
    return invalid_argument("--attack " + attack + " needs a quantized model: '" + model_path +
                            "' is float, so there is nothing to diverge from");
  return make_float_master_target(*loaded.models[0], model_path);
}

Result<nlohmann::json> add_defenses_described(const TargetRecipe& recipe, std::unique_ptr<Target>& target) {
  SLING_ASSIGN_OR_RETURN(const std::vector<DefenseDescription> defenses, add_recipe_defenses(recipe, target));
  nlohmann::json described = nlohmann::json::array();
  for (const DefenseDescription& d : defenses) {
    nlohmann::json settings;
    for (const auto& [key, value] : d.settings) {
      const bool whole = value == std::floor(value) && std::abs(value) < 1e15;
      settings[key] = whole ? nlohmann::json(static_cast<int64_t>(value)) : nlohmann::json(value);
    }
    described.push_back({{"name", d.name}, {"settings", settings}, {"spec", d.spec},
                         {"randomized", d.randomized}, {"differentiable", d.differentiable}});
  }
  return described;
}

Result<Dataset> load_attack_data(const std::string& data, int n, const Target& target, bool pixel_valid) {
  const Shape shape = target.input_shape();
  const bool audio = shape.size() == 1;
  Dataset d;
  if (audio) {
    SLING_ASSIGN_OR_RETURN(d, load_waveform_data_arg(data, "test", n));
  } else {
    SLING_ASSIGN_OR_RETURN(d, load_data_arg(data, "test", n, shape));
    // Generated house numbers are rendered in float; a camera delivers 8-bit pixels.
    if (data == "housenum") snap_to_domain(d.inputs, image_domain());
  }
  if (pixel_valid && !on_domain_grid(d.inputs, target.domain()))
    return invalid_argument(std::string("the '") + data + "' inputs are not " +
                            (audio ? "16-bit audio (values off the k/32768 grid)" : "8-bit images (values off the k/255 grid)") +
                            "; use --no-pixel-valid to attack them as continuous inputs");
  return d;
}

}  // namespace slingshot::cli
