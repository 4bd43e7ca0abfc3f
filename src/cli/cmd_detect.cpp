// `slingshot detect --model M --data D --attack A [attack flags as in attack] --fpr 0.05
// --n N --calibration-n C --json OUT [--squeezer SPEC...]`: the feature-squeezing detector
// (defenses/squeeze_detector.h) against one attack.
//
// Splits: the detector's threshold is calibrated on clean test samples N .. N+C-1, and the
// attack and the measured rates use samples 0 .. N-1, so the calibration never sees the
// inputs it is judged on (the same split rule for generated sets and for file sets). The
// report gives the calibrated threshold, the FPR on the calibration set (at most --fpr by
// construction) and on the N clean evaluation inputs (the honest one), the detection
// rate over every attacked sample's adversarial input, over those that fooled the model,
// and the robust accuracy once flagged inputs count as stopped.
//
// The attack is not adaptive to the detector: it attacks the model (behind any --defense)
// and ignores the detector, as Xu et al. evaluate it; a detector-aware attack (e.g.
// Carlini & Wagner's, through the squeezed predictions) is not implemented.
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "attacks/attack_report.h"
#include "attacks/bit_flip.h"
#include "attacks/evaluate.h"
#include "cli/attack_setup.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "core/file_io.h"
#include "defenses/squeeze_detector.h"

namespace slingshot::cli {
namespace {

struct DetectCliOptions : AttackFlags {
  std::string json;
  std::vector<std::string> squeezers{"bit_depth:bits=5", "median_filter:size=2"};
  double fpr = 0.05;
  int calibration_n = 100;
};

double share(int64_t part, int64_t whole) { return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0; }

Status run_detect(const DetectCliOptions& o) {
  use_threads(o.threads);
  if (!(o.fpr >= 0 && o.fpr < 1)) return invalid_argument("--fpr must be in [0, 1), got " + std::to_string(o.fpr));
  if (o.json.empty()) return invalid_argument("--json OUT is required: the report goes there");
  if (o.attack == kBitFlipAttackName) return invalid_argument("detect judges input attacks; bitflip changes weights");
  SLING_ASSIGN_OR_RETURN(SqueezeDetector detector, SqueezeDetector::make(o.squeezers));
  SLING_ASSIGN_OR_RETURN(auto attack, make_attack(o.attack));
  SLING_ASSIGN_OR_RETURN(AttackParams p, attack_params_from(o, attack->default_max_iter(), attack->norms().front()));
  LoadedModels loaded;
  const TargetRecipe recipe = attack_recipe_from(o);
  SLING_ASSIGN_OR_RETURN(auto target, build_attack_target(o.model, recipe, loaded));
  std::unique_ptr<Target> reference;
  if (attack->needs_reference()) {
    SLING_ASSIGN_OR_RETURN(reference, build_reference_target(o.attack, o.model, loaded));
  }
  SLING_ASSIGN_OR_RETURN(const nlohmann::json defenses, add_defenses_described(recipe, target));
  SLING_RETURN_IF_ERROR(attack->validate(p, target->num_classes()));
  if (o.attack == "patch") return invalid_argument("detect does not train universal patches; use `slingshot attack --attack patch`");
  SLING_ASSIGN_OR_RETURN(const Dataset all, load_attack_data(o.data, o.n + o.calibration_n, *target, p.pixel_valid));
  if (all.size() < static_cast<int64_t>(o.n) + 1)
    return invalid_argument("'" + o.data + "' has " + std::to_string(all.size()) + " test samples; --n " +
                            std::to_string(o.n) + " leaves none for calibration");
  const int64_t n = o.n, calibration = all.size() - n;
  Tensor eval_x, calib_x;
  std::vector<int> eval_labels, calib_labels;
  all.slice(0, n, eval_x, eval_labels);
  all.slice(n, calibration, calib_x, calib_labels);

  std::printf("detect: squeezers [");
  for (size_t i = 0; i < o.squeezers.size(); ++i) std::printf("%s%s", i ? ", " : "", o.squeezers[i].c_str());
  std::printf("], calibrated to FPR %g on test samples %lld..%lld; %s (L%s eps %g) on samples 0..%lld, engine %s, "
              "gradients %s\n",
              o.fpr, static_cast<long long>(n), static_cast<long long>(n + calibration - 1), o.attack.c_str(),
              norm_name(p.norm), p.eps, static_cast<long long>(n - 1), target->engine_name().c_str(),
              gradient_description(*target, o.eot_samples).c_str());
  std::fflush(stdout);
  // Scores of randomized targets depend on their draws; fix them per phase.
  target->reseed(o.seed ^ 0xCA11B4A7Eull);
  SLING_RETURN_IF_ERROR(detector.calibrate(*target, calib_x, o.fpr));
  SLING_ASSIGN_OR_RETURN(const std::vector<double> calib_scores, detector.scores(*target, calib_x));

  ProgressBar bar("detect");
  AttackTally tally;
  Tensor x_adv(eval_x.shape()), batch;
  std::vector<int> labels;
  const int64_t per = n ? eval_x.numel() / n : 0;
  for (int64_t first = 0; first < n; first += p.batch_size) {
    const int64_t count = std::min<int64_t>(p.batch_size, n - first);
    all.slice(first, count, batch, labels);
    SLING_ASSIGN_OR_RETURN(BatchOutcome out, attack_batch(*attack, *target, batch, labels, first, p, reference.get()));
    std::copy(out.x_adv.data(), out.x_adv.data() + count * per, x_adv.data() + first * per);
    SLING_RETURN_IF_ERROR(add_batch_json(tally, batch_outcome_json(out, first)));
    bar.update(static_cast<double>(first + count) / static_cast<double>(n),
               std::to_string(first + count) + "/" + std::to_string(n));
  }
  bar.finish();
  target->reseed(o.seed ^ 0xDE7EC7ull);
  SLING_ASSIGN_OR_RETURN(const std::vector<double> clean_scores, detector.scores(*target, eval_x));
  SLING_ASSIGN_OR_RETURN(const std::vector<double> adv_scores, detector.scores(*target, x_adv));

  const double t = detector.threshold();
  int64_t calib_flagged = 0, clean_flagged = 0, attacked = 0, attacked_flagged = 0, fooled = 0, fooled_flagged = 0,
          stopped = 0;
  for (double s : calib_scores) calib_flagged += s > t;
  nlohmann::json examples = nlohmann::json::array();
  for (const ExampleRecord& r : tally.records) {
    const size_t i = static_cast<size_t>(r.index);
    const bool clean_flag = clean_scores[i] > t, adv_flag = adv_scores[i] > t;
    clean_flagged += clean_flag;
    if (r.attacked) {
      ++attacked;
      attacked_flagged += adv_flag;
      fooled += r.success;
      fooled_flagged += r.success && adv_flag;
    }
    // Robust under detection: right on the clean input, and the adversarial input is still
    // classified right or flagged.
    stopped += r.clean_prediction == r.label && (r.adversarial_prediction == r.label || adv_flag);
    nlohmann::json e = example_record_json(r);
    e["clean_score"] = clean_scores[i];
    e["adversarial_score"] = adv_scores[i];
    e["flagged"] = adv_flag;
    examples.push_back(std::move(e));
  }
  const AttackSummary s = summarize(tally.records);
  nlohmann::json report = {{"model", o.model}, {"data", o.data}, {"attack", o.attack}, {"engine", target->engine_name()},
                           {"gradient_source", gradient_source_name(target->gradient_source())},
                           {"params", attack_params_json(p)}, {"defenses", defenses}, {"adaptive_to_detector", false}};
  report["detector"] = {{"squeezers", o.squeezers}, {"requested_fpr", o.fpr}, {"threshold", t},
                        {"calibration", {{"split", "test"}, {"first_index", n}, {"count", calibration},
                                         {"false_positive_rate", share(calib_flagged, calibration)}}}};
  report["n"] = n;
  report.update(attack_tally_json(tally, reference != nullptr));
  report["false_positive_rate"] = share(clean_flagged, n);
  report["detection_rate"] = share(attacked_flagged, attacked);
  report["successful"] = fooled;
  report["detection_rate_successful"] = share(fooled_flagged, fooled);
  report["robust_accuracy_with_detection"] = share(stopped, n);
  report["seconds"] = tally.seconds;
  report["examples"] = std::move(examples);
  SLING_RETURN_IF_ERROR(write_file_atomic(o.json, report.dump(1) + "\n"));
  std::printf("threshold %.4g: FPR %.4f on the calibration set (%lld), %.4f on the evaluated clean inputs (%lld)\n"
              "clean accuracy %.4f  robust accuracy %.4f  success rate %.4f (%lld attacked)\n"
              "detection rate %.4f of attacked inputs, %.4f of the %lld that fooled the model; robust accuracy "
              "counting flagged inputs as stopped %.4f\nreport written to %s\n",
              t, share(calib_flagged, calibration), static_cast<long long>(calibration), share(clean_flagged, n),
              static_cast<long long>(n), s.clean_accuracy, s.robust_accuracy, s.success_rate,
              static_cast<long long>(attacked), share(attacked_flagged, attacked), share(fooled_flagged, fooled),
              static_cast<long long>(fooled), share(stopped, n), o.json.c_str());
  return Status::Ok();
}

}  // namespace

void register_detect(CLI::App& app, CommandList& out) {
  auto o = std::make_shared<DetectCliOptions>();
  CLI::App* sub = app.add_subcommand(
      "detect", "Feature-squeezing detector (Xu et al.) against an attack: detection rate at a calibrated FPR");
  add_attack_flags(sub, *o);
  sub->add_option("--json", o->json, "Report file (JSON)")->required();
  sub->add_option("--fpr", o->fpr, "False-positive rate the threshold is calibrated to, on clean inputs")
      ->capture_default_str();
  sub->add_option("--calibration-n", o->calibration_n,
                  "Clean test samples after the --n evaluated ones that calibrate the threshold")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sub->add_option("--squeezer", o->squeezers, "Squeezer spec (repeatable; deterministic pre-processors)")
      ->capture_default_str();
  out.push_back({sub, [o] { return run_detect(*o); }});
}

}  // namespace slingshot::cli
