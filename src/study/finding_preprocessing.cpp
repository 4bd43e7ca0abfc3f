// Finding 4: pre-processing defenses work at small eps and fail at large eps, and fail
// under BPDA/EOT (Athalye et al. 2018, on the defenses of Xu et al. 2018 and Guo et al.
// 2018), here on the deployed int8 model.
//
// For each pre-processing defense in front of int8 ResNet-8: clean accuracy; robust
// accuracy against an oblivious attacker (PGD crafted on the undefended model, replayed
// through the defense); and against the adaptive attacker (PGD through the defended
// target: BPDA across non-differentiable transforms, EOT over randomized ones), at a
// small and a large eps.
#include <cmath>

#include "attacks/target_builder.h"
#include "metrics/accuracy.h"
#include "report/plot.h"
#include "study/study.h"

namespace slingshot {
Result<Finding> finding_preprocessing(StudyContext& ctx) {
  const int64_t n = ctx.pick(32, 200);
  const Tensor x = ctx.images(n);
  const std::vector<int> y = ctx.labels(n);
  SLING_ASSIGN_OR_RETURN(const QuantizedModel* model, ctx.model("resnet8_int8"));
  SLING_ASSIGN_OR_RETURN(auto plain, ctx.target("resnet8_int8", EngineKind::kInt8Ref, GradientSource::kSte));
  const std::vector<std::string> defenses{"bit_depth:bits=4",        "median_filter:size=2", "jpeg:quality=75",
                                          "spatial_smoothing:sigma=1", "tv_minimization",      "gaussian_noise:sigma=0.05"};
  const std::vector<double> eps_steps{4, 12};
  AttackParams p;
  p.max_iter = static_cast<int>(ctx.pick(5, 20));
  p.batch_size = 50;

  // The oblivious attacker's examples: crafted once per eps on the undefended model,
  // whose own robust accuracy is the baseline a defense must beat.
  std::vector<Tensor> oblivious(eps_steps.size());
  std::vector<double> undefended;
  for (size_t e = 0; e < eps_steps.size(); ++e) {
    p.eps = static_cast<float>(eps_steps[e] / 255);
    SLING_ASSIGN_OR_RETURN(const auto records, ctx.attack_records("pgd", *plain, x, y, p, &oblivious[e]));
    undefended.push_back(summarize(records).robust_accuracy);
  }
  SLING_ASSIGN_OR_RETURN(const double plain_clean, accuracy(*plain, x, y));

  HeatMap heat;
  heat.title = "Robust accuracy of int8 ResNet-8 behind each pre-processing defense";
  heat.row_axis = "defense";
  heat.col_axis = "attack";
  heat.col_labels = {"clean"};
  for (double s : eps_steps) {
    char label[64];
    std::snprintf(label, sizeof label, "oblivious %g/255", s);
    heat.col_labels.push_back(label);
    std::snprintf(label, sizeof label, "adaptive %g/255", s);
    heat.col_labels.push_back(label);
  }
  heat.row_labels.push_back("none");
  heat.values.push_back({plain_clean});
  for (double u : undefended) heat.values.back().insert(heat.values.back().end(), {u, u});
  nlohmann::json rows = nlohmann::json::array();
  int small_works = 0, large_fails = 0, adaptive_breaks = 0;
  for (const std::string& spec : defenses) {
    TargetRecipe recipe;
    recipe.engine = "int8-ref";
    recipe.defenses = {spec};
    recipe.eot_samples = static_cast<int>(ctx.pick(4, 8));
    SLING_ASSIGN_OR_RETURN(std::unique_ptr<Target> defended, make_recipe_model_target(*model, "resnet8_int8", recipe));
    SLING_ASSIGN_OR_RETURN(const auto described, add_recipe_defenses(recipe, defended));
    (void)described;
    SLING_ASSIGN_OR_RETURN(const double clean, accuracy(*defended, x, y));
    std::vector<double> row{clean};
    nlohmann::json jrow = {{"defense", spec}, {"gradient", gradient_source_name(defended->gradient_source())},
                           {"clean_accuracy", clean}};
    double oblivious_small = 0, oblivious_large = 0, adaptive_small = 0;
    for (size_t e = 0; e < eps_steps.size(); ++e) {
      defended->reseed(p.seed);
      SLING_ASSIGN_OR_RETURN(const double oblivious_acc, accuracy(*defended, oblivious[e], y));
      p.eps = static_cast<float>(eps_steps[e] / 255);
      SLING_ASSIGN_OR_RETURN(const auto adaptive, ctx.attack_records("pgd", *defended, x, y, p));
      const double adaptive_acc = summarize(adaptive).robust_accuracy;
      row.push_back(oblivious_acc);
      row.push_back(adaptive_acc);
      char key[32];
      std::snprintf(key, sizeof key, "%g_255", eps_steps[e]);
      jrow["oblivious_" + std::string(key)] = oblivious_acc;
      jrow["adaptive_" + std::string(key)] = adaptive_acc;
      if (e == 0) oblivious_small = oblivious_acc, adaptive_small = adaptive_acc;
      if (e + 1 == eps_steps.size()) oblivious_large = oblivious_acc;
    }
    // A defense "works" at small eps when it beats the undefended model's robust accuracy
    // against the oblivious attacker by 10 points; it "fails" at large eps when it keeps
    // at most a quarter of its clean accuracy, and under the adaptive attack when that
    // gain is gone (within 5 points of the undefended model).
    small_works += oblivious_small > undefended[0] + 0.1;
    large_fails += oblivious_large <= 0.25 * clean;
    adaptive_breaks += adaptive_small <= undefended[0] + 0.05;
    heat.row_labels.push_back(spec);
    heat.values.push_back(row);
    rows.push_back(jrow);
  }
  const int d = static_cast<int>(defenses.size());
  char text[1100];
  std::snprintf(text, sizeof text,
                "PGD (%d iterations) on %lld evaluation images against int8 ResNet-8 behind %d pre-processing defenses; "
                "undefended, it keeps %.3f at 4/255 and %.3f at 12/255. Against the oblivious attacker (examples "
                "crafted on the undefended model), %d of %d defenses beat that by more than 10 points at 4/255, and %d "
                "of %d keep at most a quarter of their clean accuracy at 12/255. Against the adaptive attacker "
                "(BPDA/EOT through the defense), %d of %d are within 5 points of the undefended model at 4/255. Every "
                "number is in report.json.",
                p.max_iter, static_cast<long long>(n), d, undefended[0], undefended[1], small_works, d, large_fails, d,
                adaptive_breaks, d);
  Finding f;
  f.id = "preprocessing";
  f.title = "Pre-processing defenses: small eps, large eps, and adaptive attacks";
  f.claim = "Input pre-processing defenses (feature squeezing, JPEG, smoothing, noise, total-variation minimization) "
            "resist small perturbations from an attacker who ignores them, fail at large eps, and fail at small eps too "
            "once the attack is adaptive (BPDA, EOT) (Athalye et al. 2018).";
  f.summary = text;
  const int agreeing = (small_works * 2 >= d) + (large_fails * 2 >= d) + (adaptive_breaks * 2 >= d);
  f.verdict = agreeing == 3 ? "agrees" : agreeing == 0 ? "disagrees" : "mixed";
  f.data = {{"samples", n}, {"max_iter", p.max_iter}, {"undefended_clean", plain_clean},
            {"undefended_robust", {{"4_255", undefended[0]}, {"12_255", undefended[1]}}}, {"defenses", rows}};
  SLING_ASSIGN_OR_RETURN(std::string png, render_heat_map(heat, 900, 560));
  f.plots.emplace_back("preprocessing_defenses.png", std::move(png));
  return f;
}

}  // namespace slingshot
