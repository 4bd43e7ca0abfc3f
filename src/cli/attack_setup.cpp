// Shared assembly of input attacks (see attack_setup.h).
#include "cli/attack_setup.h"

#include <cmath>

#include "attacks/attack.h"
#include "attacks/threat_model.h"
#include "cli/commands.h"
#include "core/thread_pool.h"

namespace slingshot::cli {

void add_attack_flags(CLI::App* sub, AttackFlags& f) {
  sub->add_option("--model", f.model,
                  "Model file (quantized for the integer engines), or an ensemble file (*.json, e.g. "
                  "models/housenum/resnet8_multibit_ensemble.json)")
      ->required();
  sub->add_option("--data", f.data, "Dataset (test split): shapes, housenum, cifar10:, folder:, labels:CSV")
      ->capture_default_str();
  std::string names;
  for (const std::string& n : attack_names()) names += (names.empty() ? "" : ", ") + n;
  sub->add_option("--attack", f.attack, "Attack: " + names)->required();
  sub->add_option("--engine", f.engine, "Deployed engine that judges (default int8-ref, or float for float models)");
  sub->add_option("--grad", f.grad,
                  "Gradient source: float, ste (default) or fd; with --defense bpda or eot (default: eot if a "
                  "defense is randomized, else bpda)");
  std::string defense_names;
  for (const std::string& d : preprocessor_descriptions()) defense_names += (defense_names.empty() ? "" : ", ") + d;
  sub->add_option("--defense", f.defenses,
                  "Pre-processing defense NAME[:KEY=VALUE,...] in front of the model (repeatable, applied in order): " +
                      defense_names);
  sub->add_option("--eot-samples", f.eot_samples, "eot: draws averaged per gradient")->capture_default_str();
  sub->add_option("--inner-grad", f.inner_grad,
                  "With --defense: the model's own gradient source behind it (default ste, float for float models)");
  sub->add_option("--n", f.n, "Samples to attack")->capture_default_str()->check(CLI::Range(1, 1000000));
  sub->add_option("--norm", f.norm, "Threat-model norm: inf, 2, 1 or 0 (default: the attack's first, see `slingshot attacks`)");
  sub->add_option("--eps", f.eps,
                  "Radius, a number or a fraction such as 8/255 (default per norm: inf 8/255, 2 0.5, 1 12, 0 24 values)");
  sub->add_option("--eps-step", f.eps_step, "Step size (0: the attack's default)")->capture_default_str();
  sub->add_option("--max-iter", f.max_iter, "Iterations (default: the attack's own, e.g. 10 for PGD, 100 for APGD and EAD)");
  sub->add_option("--restarts", f.restarts, "Random restarts (num_random_init)")->capture_default_str();
  sub->add_flag("--targeted", f.targeted, "Targeted mode: a random wrong class per sample unless --target");
  sub->add_option("--target", f.target, "Target class for every sample (implies --targeted)");
  sub->add_option("--loss", f.loss, "Objective: ce, cw, dlr or prob")->capture_default_str();
  sub->add_option("--batch-size", f.batch_size, "Samples per attack call")->capture_default_str();
  sub->add_option("--seed", f.seed, "Seed of every random choice")->capture_default_str();
  sub->add_option("--max-queries", f.max_queries, "Black-box query budget per sample")->capture_default_str();
  sub->add_option("--set", f.settings, "Attack-specific setting key=value (repeatable)");
  sub->add_option("--fd-step", f.fd_step, "Finite-difference step for --grad fd (0: one grid step)");
  sub->add_flag("--no-pixel-valid", f.no_pixel_valid, "Let iterates leave the 8-bit grid (not reproducible on an MCU)");
  sub->add_option("--threads", f.threads, "Threads for gradients and float kernels (default: every core); results do not depend on it")
      ->check(CLI::Range(1, kMaxThreads));
}

Result<AttackParams> attack_params_from(const AttackFlags& o, int default_max_iter, Norm default_norm) {
  AttackParams p;
  p.norm = default_norm;
  if (!o.norm.empty()) {
    SLING_ASSIGN_OR_RETURN(p.norm, parse_norm(o.norm));
  }
  p.eps = default_eps(p.norm);
  if (!o.eps.empty()) {
    SLING_ASSIGN_OR_RETURN(p.eps, parse_eps(o.eps));
  }
  SLING_ASSIGN_OR_RETURN(p.eps_step, parse_eps(o.eps_step));
  SLING_ASSIGN_OR_RETURN(p.loss, parse_loss(o.loss));
  p.max_iter = o.max_iter == -1 ? default_max_iter : o.max_iter;  // -1: not given
  p.num_random_init = o.restarts;
  p.targeted = o.targeted || o.target >= 0;
  p.target = o.target;
  p.batch_size = o.batch_size;
  p.seed = o.seed;
  p.max_queries = o.max_queries;
  p.pixel_valid = !o.no_pixel_valid;
  for (const std::string& kv : o.settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid_argument("--set expects key=value, got '" + kv + "'");
    SLING_ASSIGN_OR_RETURN(float v, parse_eps(kv.substr(eq + 1)));
    p.extra[kv.substr(0, eq)] = v;
  }
  return p;
}

TargetRecipe attack_recipe_from(const AttackFlags& o) {
  TargetRecipe r;
  r.engine = o.engine;
  r.grad = o.grad;
  r.inner_grad = o.inner_grad;
  r.defenses = o.defenses;
  r.eot_samples = o.eot_samples;
  r.seed = o.seed;
  r.fd_step = o.fd_step;
  return r;
}

namespace {

// How an ensemble member builds its target: the attack's recipe, with the member's own
// engine and, behind its own defenses, the adaptive gradient (bpda, or eot when
// randomized) over the model's source the attack names.
TargetRecipe member_recipe(const TargetRecipe& recipe, const EnsembleMember& member) {
  TargetRecipe r = recipe;
  if (!member.engine.empty()) r.engine = member.engine;
  if (member.defenses.empty()) return r;
  r.inner_grad = recipe.defenses.empty() ? recipe.grad : recipe.inner_grad;  // the model's own source
  r.grad.clear();
  r.defenses = member.defenses;
  return r;
}

}  // namespace

Result<std::unique_ptr<Target>> build_attack_target(const std::string& model_path, const TargetRecipe& recipe,
                                                    LoadedModels& loaded) {
  std::vector<EnsembleMember> members{{model_path, {}, {}}};
  if (is_ensemble_path(model_path)) {
    SLING_ASSIGN_OR_RETURN(EnsembleSpec spec, load_ensemble_spec(model_path));
    members = spec.members;
    loaded.combine = spec.combine;
  }
  std::vector<std::unique_ptr<Target>> targets;
  for (size_t i = 0; i < members.size(); ++i) {
    const EnsembleMember& member = members[i];
    SLING_ASSIGN_OR_RETURN(QuantizedModel m, load_any_model_arg(member.model));
    loaded.models.push_back(std::make_unique<QuantizedModel>(std::move(m)));
    const TargetRecipe own = member_recipe(recipe, member);
    SLING_ASSIGN_OR_RETURN(auto t, make_recipe_model_target(*loaded.models.back(), member.model, own));
    if (!member.defenses.empty()) {
      const auto defended = add_recipe_defenses(own, t);
      if (!defended.ok()) return defended.status().with_context("ensemble member " + std::to_string(i) + " (" + member.model + ")");
    }
    targets.push_back(std::move(t));
  }
  if (targets.size() == 1) return std::move(targets[0]);
  return make_ensemble_target(std::move(targets), loaded.combine, recipe.eot_samples);
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
