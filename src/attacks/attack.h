// The attack interface and registry. One attack per file in src/attacks/; each one
// registers a factory under its command-line name in attack.cpp.
//
// An attack maps a clean batch x0 (on the domain grid in pixel-valid mode) to an
// adversarial batch inside the threat model. It never judges success itself: the
// evaluation (attacks/evaluate.h) classifies every result on the deployed engine.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attacks/target.h"
#include "attacks/threat_model.h"
#include "core/rng.h"
#include "core/setting_spec.h"
#include "core/status.h"
#include "core/tensor.h"

namespace slingshot {

enum class AttackFamily { kWhiteBox, kBlackBox, kPatch, kQuantization };
const char* attack_family_name(AttackFamily f);  // "white-box", "black-box", "patch", "quantization"

// Which of AttackParams' shared fields an attack reads, so front ends offer only those
// (norm, seed and pixel_valid apply to every attack).
struct SharedParamUse {
  bool eps = true;           // the ball radius (patch attacks bound area instead)
  bool eps_step = false;     // a step size (0: the attack's own default)
  bool max_iter = true;      // iterations (black-box attacks spend max_queries instead)
  bool restarts = false;     // num_random_init random starts
  bool targeted = true;      // targeted mode and the target class
  bool loss = false;         // the objective (ce, cw, dlr, prob)
  bool max_queries = false;  // the per-sample prediction budget
};

// What one run works on.
struct AttackBatch {
  const Tensor& x0;               // clean inputs [N, ...]
  std::span<const int> labels;    // true classes [N]
  std::span<const int> targets;   // targeted: classes to reach [N]; untargeted: empty
  Target* reference = nullptr;    // the model the deployed one is compared with (DIVA: the float master)
};

class Attack {
 public:
  virtual ~Attack() = default;
  virtual const char* name() const = 0;
  virtual AttackFamily family() const = 0;
  // Black-box attacks may only call Target::predict (the tests count loss_grad calls).
  bool black_box() const { return family() == AttackFamily::kBlackBox; }
  // Norms the attack supports; the first is its default.
  virtual std::vector<Norm> norms() const = 0;
  // Whether outputs stay in the eps-ball of p.norm (patch attacks bound area instead).
  virtual bool bounded_by_eps() const { return true; }
  // Minimal-perturbation attacks (C&W, DeepFool, EAD, decision-based ones) search without
  // a bound; they accept eps = inf and otherwise return their best point projected onto
  // the eps-ball.
  virtual bool accepts_unbounded_eps() const { return false; }
  // Divergence attacks (DIVA) need a reference model, and succeed only where the deployed
  // model is fooled while the reference still classifies correctly.
  virtual bool needs_reference() const { return false; }
  // Universal attacks train on a training set first (the "patch" protocol); front ends
  // that attack single inputs refuse them.
  virtual bool trains_on_dataset() const { return false; }
  // Iterations the attack runs when the user gives none (the CLI's --max-iter 0): the
  // value its reference implementation uses (ART, torchattacks, AutoAttack).
  virtual int default_max_iter() const { return 10; }
  // The shared parameters it reads; the default follows the family (black-box attacks
  // spend queries, not iterations).
  virtual SharedParamUse shared_params() const;
  // The settings of AttackParams::extra it reads: kind, default, range and doc.
  virtual std::vector<SettingSpec> settings() const { return {}; }
  // Attack-specific checks beyond validate_attack_params (called by validate() before
  // the generic range checks of settings(), so its messages say more).
  virtual Status check(const AttackParams& p) const {
    (void)p;
    return Status::Ok();
  }
  // Writes x_adv (x0's shape), inside the threat model of `p`.
  virtual Status run(Target& target, const AttackBatch& batch, const AttackParams& p, Rng& rng, Tensor& x_adv) = 0;
  // Warnings the last run() raised for the report (e.g. AutoAttack's sanity checks);
  // taking them clears them.
  virtual std::vector<std::string> take_notes() { return {}; }

  // The shared checks, the norm, unknown extra keys, check(), then every given setting
  // against its range in settings().
  Status validate(const AttackParams& p, int num_classes) const;
  // An extra setting, or `fallback` (for defaults computed at run time).
  static double extra(const AttackParams& p, const std::string& key, double fallback);
  // An extra setting, or its default from settings().
  double setting(const AttackParams& p, const std::string& key) const;
};

// Errors unless every key of p.extra names one of `specs` and holds a finite value; the
// error names `attack` and lists the settings it takes.
Status check_extra_settings(const AttackParams& p, const std::vector<SettingSpec>& specs, std::string_view attack);
// Errors unless every value of p.extra lies in its spec's kind and range.
Status check_extra_setting_values(const AttackParams& p, const std::vector<SettingSpec>& specs, std::string_view attack);

// Every parameter a front end should offer for `attack`, as a form needs it: the shared
// ones it reads (norm with its supported choices, eps with inf allowed only for
// minimal-perturbation attacks, eps_step, max_iter with its default_max_iter(), restarts,
// targeted/target, loss, max_queries, seed, pixel_valid), then its own settings().
std::vector<SettingSpec> attack_parameters(const Attack& attack);

// The attack registered under `name`; the error lists every name. The weight attack
// "bitflip" is listed by attack_names() but not an Attack: make_attack refuses it with
// an error pointing at bit_flip_attack().
Result<std::unique_ptr<Attack>> make_attack(std::string_view name);
// The input attacks: every name make_attack() builds (what registry-driven front ends list).
std::vector<std::string> input_attack_names();
// Every attack name the CLI accepts: the input attacks and the weight attack "bitflip".
std::vector<std::string> attack_names();
// The registered attack's one-line description ("" for unknown names).
std::string attack_doc(std::string_view name);

}  // namespace slingshot
