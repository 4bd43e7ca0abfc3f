// Attack validation helpers and the registry of every attack (see attack.h).
#include "attacks/attack.h"

#include "attacks/bit_flip.h"

#include <algorithm>
#include <cmath>

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
};

const Entry kAttacks[] = {
    {"fgsm", &make_fgsm_attack},
    {"bim", &make_bim_attack},
    {"pgd", &make_pgd_attack},
    {"mifgsm", &make_mifgsm_attack},
    {"apgd-ce", &make_apgd_ce_attack},
    {"apgd-dlr", &make_apgd_dlr_attack},
    {"cw-l2", &make_cw_l2_attack},
    {"cw-linf", &make_cw_linf_attack},
    {"ead", &make_ead_attack},
    {"deepfool", &make_deepfool_attack},
    {"jsma", &make_jsma_attack},
    {"boundary", &make_boundary_attack},
    {"hopskipjump", &make_hopskipjump_attack},
    {"geoda", &make_geoda_attack},
    {"square", &make_square_attack},
    {"simba", &make_simba_attack},
    {"zoo", &make_zoo_attack},
    {"spsa", &make_spsa_attack},
    {"autoattack", &make_autoattack_attack},
    {"patch", &make_patch_attack},
    {"lavan", &make_lavan_attack},
    {"diva", &make_diva_attack},
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

Status check_extra_settings(const AttackParams& p, const std::vector<std::string>& keys, std::string_view attack) {
  for (const auto& setting : p.extra) {
    const std::string& key = setting.first;  // named, not a structured binding: clang 14 cannot capture those
    const double value = setting.second;
    const bool known = std::any_of(keys.begin(), keys.end(),
                                   [&](const std::string& k) { return k.substr(0, k.find('=')) == key; });
    if (!known) {
      std::string list;
      for (const std::string& k : keys) list += std::string(list.empty() ? "" : ", ") + k.substr(0, k.find('='));
      return invalid_argument("attack '" + std::string(attack) + "' has no setting '" + key + "'" +
                              (list.empty() ? "" : " (it takes: " + list + ")"));
    }
    if (!std::isfinite(value)) return invalid_argument("setting '" + key + "' must be a finite number");
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
  SLING_RETURN_IF_ERROR(check_extra_settings(p, extra_keys(), name()));
  return check(p);
}

double Attack::extra(const AttackParams& p, const std::string& key, double fallback) {
  const auto it = p.extra.find(key);
  return it == p.extra.end() ? fallback : it->second;
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

std::vector<std::string> attack_names() {
  std::vector<std::string> names;
  for (const Entry& e : kAttacks) names.push_back(e.name);
  names.push_back(kBitFlipAttackName);  // a weight attack, run by bit_flip_attack()
  return names;
}

}  // namespace slingshot
