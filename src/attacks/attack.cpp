// Attack validation helpers and the registry of every attack (see attack.h).
#include "attacks/attack.h"

#include "attacks/bit_flip.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace slingshot {

// Factories, one per attack file.
std::unique_ptr<Attack> make_fgsm_attack();
std::unique_ptr<Attack> make_bim_attack();
std::unique_ptr<Attack> make_pgd_attack();
std::unique_ptr<Attack> make_mifgsm_attack();
std::unique_ptr<Attack> make_apgd_ce_attack();
std::unique_ptr<Attack> make_apgd_dlr_attack();
std::unique_ptr<Attack> make_cw_l2_attack();
std::unique_ptr<Attack> make_cw_linf_attack();
std::unique_ptr<Attack> make_ead_attack();
std::unique_ptr<Attack> make_deepfool_attack();
std::unique_ptr<Attack> make_jsma_attack();
std::unique_ptr<Attack> make_boundary_attack();
std::unique_ptr<Attack> make_hopskipjump_attack();
std::unique_ptr<Attack> make_geoda_attack();
std::unique_ptr<Attack> make_square_attack();
std::unique_ptr<Attack> make_simba_attack();
std::unique_ptr<Attack> make_zoo_attack();
std::unique_ptr<Attack> make_spsa_attack();
std::unique_ptr<Attack> make_autoattack_attack();
std::unique_ptr<Attack> make_patch_attack();
std::unique_ptr<Attack> make_lavan_attack();
std::unique_ptr<Attack> make_diva_attack();

namespace {

struct Entry {
  const char* name;
  std::unique_ptr<Attack> (*make)();
  const char* doc;  // one line for listings
};

const Entry kAttacks[] = {
    {"fgsm", &make_fgsm_attack,
     "one signed-gradient step of size eps (Goodfellow et al. 2015)"},
    {"bim", &make_bim_attack,
     "FGSM repeated max_iter times with small steps (Kurakin et al. 2017)"},
    {"pgd", &make_pgd_attack,
     "projected gradient descent with optional random restarts (Madry et al. 2018)"},
    {"mifgsm", &make_mifgsm_attack,
     "iterative FGSM with momentum (Dong et al. 2018)"},
    {"apgd-ce", &make_apgd_ce_attack,
     "Auto-PGD on cross-entropy with an adaptive step (Croce & Hein 2020)"},
    {"apgd-dlr", &make_apgd_dlr_attack,
     "Auto-PGD on the scale-invariant DLR loss (Croce & Hein 2020)"},
    {"cw-l2", &make_cw_l2_attack,
     "Carlini-Wagner L2: minimal perturbation by Adam with a binary search over c"},
    {"cw-linf", &make_cw_linf_attack,
     "PGD on the Carlini-Wagner margin loss in the Linf ball"},
    {"ead", &make_ead_attack,
     "elastic-net attack: L1-minimal perturbations by ISTA (Chen et al. 2018)"},
    {"deepfool", &make_deepfool_attack,
     "steps to the nearest linearized decision boundary (Moosavi-Dezfooli et al. 2016)"},
    {"jsma", &make_jsma_attack,
     "Jacobian saliency map: changes the few most salient input values (Papernot et al. 2016)"},
    {"boundary", &make_boundary_attack,
     "decision-based random walk along the boundary toward the input (Brendel et al. 2018)"},
    {"hopskipjump", &make_hopskipjump_attack,
     "decision-based boundary search with gradient-direction estimates (Chen et al. 2020)"},
    {"geoda", &make_geoda_attack,
     "decision-based geometric attack in a low-frequency DCT subspace (Rahmati et al. 2020)"},
    {"square", &make_square_attack,
     "score-based random square updates at the boundary of the ball (Andriushchenko et al. 2020)"},
    {"simba", &make_simba_attack,
     "score-based: tries one pixel or DCT direction at a time (Guo et al. 2019)"},
    {"zoo", &make_zoo_attack,
     "score-based coordinate-wise finite differences with Adam (Chen et al. 2017)"},
    {"spsa", &make_spsa_attack,
     "score-based simultaneous-perturbation gradient estimates (Uesato et al. 2018)"},
    {"autoattack", &make_autoattack_attack,
     "AutoAttack: APGD-CE, APGD-T, targeted C&W in place of FAB-T, then Square"},
    {"patch", &make_patch_attack,
     "universal adversarial patch trained on a training set, pasted at random places"},
    {"lavan", &make_lavan_attack,
     "per-image localized patch (LaVAN, Karmon et al. 2018)"},
    {"diva", &make_diva_attack,
     "divergence attack: fools the deployed model while the float master stays right"},
};

}  // namespace

const char* attack_family_name(AttackFamily f) {
  switch (f) {
    case AttackFamily::kWhiteBox: return "white-box";
    case AttackFamily::kBlackBox: return "black-box";
    case AttackFamily::kPatch: return "patch";
    case AttackFamily::kQuantization: return "quantization";
  }
  return "?";
}

Status check_extra_settings(const AttackParams& p, const std::vector<SettingSpec>& specs, std::string_view attack) {
  for (const auto& entry : p.extra) {
    const std::string& key = entry.first;  // named, not a structured binding: clang 14 cannot capture those
    if (!find_setting(specs, key)) {
      const std::string list = setting_names(specs);
      return invalid_argument("attack '" + std::string(attack) + "' has no setting '" + key + "'" +
                              (list.empty() ? "" : " (it takes: " + list + ")"));
    }
    if (!std::isfinite(entry.second)) return invalid_argument("setting '" + key + "' must be a finite number");
  }
  return Status::Ok();
}

Status check_extra_setting_values(const AttackParams& p, const std::vector<SettingSpec>& specs, std::string_view attack) {
  const std::string owner = "attack '" + std::string(attack) + "'";
  for (const auto& entry : p.extra) {
    const SettingSpec* spec = find_setting(specs, entry.first);
    if (!spec) return invalid_argument(owner + " has no setting '" + entry.first + "'");
    SLING_RETURN_IF_ERROR(check_setting_value(*spec, entry.second, owner));
  }
  return Status::Ok();
}

Status Attack::validate(const AttackParams& p, int num_classes) const {
  if (std::isinf(p.eps) && p.eps > 0) {
    if (!accepts_unbounded_eps())
      return invalid_argument(std::string("attack '") + name() + "' needs a finite eps (only minimal-perturbation attacks run unbounded)");
    if (p.norm == Norm::kL0) return invalid_argument("an L0 eps counts input values; it cannot be inf");
    AttackParams bounded = p;
    bounded.eps = 0;
    SLING_RETURN_IF_ERROR(validate_attack_params(bounded, num_classes));
  } else {
    SLING_RETURN_IF_ERROR(validate_attack_params(p, num_classes));
  }
  const std::vector<Norm> ok = norms();
  if (std::find(ok.begin(), ok.end(), p.norm) == ok.end()) {
    std::string list;
    for (Norm n : ok) list += std::string(list.empty() ? "" : ", ") + norm_name(n);
    return invalid_argument(std::string("attack '") + name() + "' does not support norm " + norm_name(p.norm) +
                            " (supported: " + list + ")");
  }
  const std::vector<SettingSpec> specs = settings();
  SLING_RETURN_IF_ERROR(check_extra_settings(p, specs, name()));
  SLING_RETURN_IF_ERROR(check(p));
  return check_extra_setting_values(p, specs, name());
}

double Attack::extra(const AttackParams& p, const std::string& key, double fallback) {
  const auto it = p.extra.find(key);
  return it == p.extra.end() ? fallback : it->second;
}

double Attack::setting(const AttackParams& p, const std::string& key) const {
  const auto it = p.extra.find(key);
  if (it != p.extra.end()) return it->second;
  const std::vector<SettingSpec> specs = settings();
  const SettingSpec* spec = find_setting(specs, key);
  assert(spec && "an attack reads a setting it does not declare");
  return spec ? spec->default_value : std::numeric_limits<double>::quiet_NaN();
}

SharedParamUse Attack::shared_params() const {
  SharedParamUse use;
  use.eps = bounded_by_eps();
  use.max_iter = !black_box();
  use.max_queries = black_box();
  return use;
}

std::vector<SettingSpec> attack_parameters(const Attack& attack) {
  const SharedParamUse use = attack.shared_params();
  std::vector<SettingSpec> out;
  SettingSpec norm{.name = "norm", .kind = SettingKind::kChoice, .default_value = 0};
  for (Norm n : attack.norms()) norm.choices.push_back(norm_name(n));
  norm.doc = "threat-model norm (L0 counts changed input values)";
  out.push_back(norm);
  if (use.eps) {
    const bool unbounded = attack.accepts_unbounded_eps();
    // The default is the first norm's; with another norm, default_eps() of that norm.
    out.push_back({.name = "eps", .default_value = default_eps(attack.norms().front()), .min = 0, .max = kNoBound,
                   .max_exclusive = !unbounded, .unit = "input",
                   .doc = std::string("radius of the norm ball (for L0 a count of input values); default per norm: "
                                      "inf 8/255, 2 0.5, 1 12, 0 24") +
                          (unbounded ? "; inf: unbounded minimal perturbation" : "")});
  }
  if (use.eps_step)
    out.push_back({.name = "eps_step", .default_value = 0, .min = 0, .max = kNoBound, .max_exclusive = true, .unit = "input",
                   .doc = "step size; 0: the attack's own default (e.g. 2.5 eps / max_iter for PGD)"});
  if (use.max_iter)
    out.push_back({.name = "max_iter", .kind = SettingKind::kInteger, .default_value = static_cast<double>(attack.default_max_iter()),
                   .min = 1, .max = 100000, .doc = "iterations"});
  if (use.restarts)
    out.push_back({.name = "num_random_init", .kind = SettingKind::kInteger, .default_value = 0, .min = 0, .max = 1000,
                   .doc = "random restarts in the ball; 0: one run from the clean input"});
  if (use.targeted) {
    out.push_back({.name = "targeted", .kind = SettingKind::kBoolean, .default_value = 0,
                   .doc = "reach a target class instead of leaving the true one"});
    out.push_back({.name = "target", .kind = SettingKind::kInteger, .default_value = -1, .min = -1, .max = 1e9,
                   .doc = "targeted: the class to reach; -1: a random wrong class"});
  }
  if (use.loss) {
    SettingSpec loss{.name = "loss", .kind = SettingKind::kChoice, .default_value = 0,
                     .doc = "objective: cross-entropy, C&W margin, DLR or probability"};
    for (LossKind k : {LossKind::kCrossEntropy, LossKind::kCwMargin, LossKind::kDlr, LossKind::kProbability})
      loss.choices.push_back(loss_name(k));
    out.push_back(loss);
  }
  if (use.max_queries)
    out.push_back({.name = "max_queries", .kind = SettingKind::kInteger, .default_value = 10000, .min = 1, .max = 1e9,
                   .doc = "prediction budget per sample"});
  out.push_back({.name = "seed", .kind = SettingKind::kInteger, .default_value = 0, .min = 0, .max = 9007199254740991.0,
                 .doc = "seed of every random choice"});
  out.push_back({.name = "pixel_valid", .kind = SettingKind::kBoolean, .default_value = 1,
                 .doc = "snap every iterate to the input grid (8-bit images, 16-bit audio), so examples reproduce on an MCU"});
  for (SettingSpec& s : attack.settings()) out.push_back(std::move(s));
  return out;
}

Result<std::unique_ptr<Attack>> make_attack(std::string_view name) {
  for (const Entry& e : kAttacks)
    if (name == e.name) return e.make();
  if (name == kBitFlipAttackName)
    return invalid_argument("attack 'bitflip' flips bits of the model's weights instead of perturbing inputs; run it "
                            "with `slingshot attack --attack bitflip` (attacks/bit_flip.h)");
  std::string list;
  for (const std::string& n : attack_names()) list += (list.empty() ? "" : ", ") + n;
  return invalid_argument("unknown attack '" + std::string(name) + "'; known: " + list);
}

std::string attack_doc(std::string_view name) {
  for (const Entry& e : kAttacks)
    if (name == e.name) return e.doc;
  if (name == kBitFlipAttackName) return "progressive bit search over the int8/int4 weight codes (Rakin et al. 2019)";
  return "";
}

std::vector<std::string> input_attack_names() {
  std::vector<std::string> names;
  for (const Entry& e : kAttacks) names.push_back(e.name);
  return names;
}

std::vector<std::string> attack_names() {
  std::vector<std::string> names = input_attack_names();
  names.push_back(kBitFlipAttackName);  // a weight attack, run by bit_flip_attack()
  return names;
}

}  // namespace slingshot
