// Finding 1: input quantization attenuates perturbations below half an input step and
// amplifies those just above it (Costa & Pinto, "David and Goliath", PGD table).
//
// The int8 model quantizes its input to the 8-bit grid like any deployed model: a
// continuous perturbation of Linf size below 0.5/255 rounds back to the clean input, one
// just above moves each value it touches by a whole step (1/255). PGD runs with
// pixel_valid off (continuous iterates, as a float-domain attacker would make) against
// the int8 model (STE gradients) and its float master (float gradients), at eps around
// half a step; the int8 model's input codes show how much of each perturbation survives.
#include <cmath>

#include "metrics/value_shift.h"
#include "report/plot.h"
#include "study/study.h"

namespace slingshot {

Result<Finding> finding_input_quantization(StudyContext& ctx) {
  const int64_t n = ctx.pick(48, 200);
  const Tensor x = ctx.images(n);
  const std::vector<int> y = ctx.labels(n);
  SLING_ASSIGN_OR_RETURN(auto int8, ctx.target("resnet8_int8", EngineKind::kInt8Ref, GradientSource::kSte));
  SLING_ASSIGN_OR_RETURN(auto flt, ctx.target("resnet8_int8", EngineKind::kFloat, GradientSource::kFloat));
  SLING_ASSIGN_OR_RETURN(const QuantizedModel* model, ctx.model("resnet8_int8"));

  // In input steps (1/255): below, at and above half a step, then whole steps.
  const std::vector<double> steps{0, 0.25, 0.45, 0.55, 0.75, 1.0, 1.5, 2.0};
  AttackParams p;
  p.pixel_valid = false;
  p.max_iter = static_cast<int>(ctx.pick(10, 40));
  p.batch_size = 50;

  nlohmann::json rows = nlohmann::json::array();
  PlotSeries int8_line{"int8 (int8-ref, STE gradients)", {}, {}}, float_line{"float master (float gradients)", {}, {}};
  double int8_clean = 0, float_clean = 0;
  double int8_at_045 = 0, int8_at_055 = 0, float_at_055 = 0, share_at_045 = 0, share_at_055 = 0;
  for (double s : steps) {
    p.eps = static_cast<float>(s / 255.0);
    Tensor adversarial;
    SLING_ASSIGN_OR_RETURN(const auto r8, ctx.attack_records("pgd", *int8, x, y, p, &adversarial));
    SLING_ASSIGN_OR_RETURN(const auto rf, ctx.attack_records("pgd", *flt, x, y, p));
    const AttackSummary a8 = summarize(r8), af = summarize(rf);
    SLING_ASSIGN_OR_RETURN(const auto shift, quantization_value_shift(*model, x, adversarial));
    const double input_share = shift.front().share;
    int8_clean = a8.clean_accuracy;
    float_clean = af.clean_accuracy;
    if (s == 0.45) int8_at_045 = a8.robust_accuracy, share_at_045 = input_share;
    if (s == 0.55) int8_at_055 = a8.robust_accuracy, float_at_055 = af.robust_accuracy, share_at_055 = input_share;
    int8_line.x.push_back(s);
    int8_line.y.push_back(a8.robust_accuracy);
    float_line.x.push_back(s);
    float_line.y.push_back(af.robust_accuracy);
    rows.push_back({{"eps_steps", s},
                    {"int8_robust_accuracy", a8.robust_accuracy},
                    {"float_robust_accuracy", af.robust_accuracy},
                    {"int8_input_codes_changed", input_share}});
  }

  const bool attenuates = int8_at_045 == int8_clean && share_at_045 == 0;
  const double int8_drop = int8_clean - int8_at_055, float_drop = float_clean - float_at_055;
  const bool amplifies = int8_drop > float_drop;
  char text[1200];
  std::snprintf(text, sizeof text,
                "PGD (%d iterations, continuous iterates) on %lld evaluation images. Below half a step the int8 model "
                "is untouched: at eps 0.45/255 it keeps its clean accuracy %.3f and %.1f%% of its input codes change. "
                "Just above, at 0.55/255, %.1f%% of the input codes move by a whole step and int8 accuracy falls by "
                "%.3f (to %.3f), while the float master falls by %.3f (to %.3f) at the same eps.",
                p.max_iter, static_cast<long long>(x.dim(0)), int8_clean, 100 * share_at_045, 100 * share_at_055,
                int8_drop, int8_at_055, float_drop, float_at_055);

  Finding f;
  f.id = "input_quantization";
  f.title = "Input quantization attenuates and amplifies";
  f.claim = "Quantizing the input to 8 bits removes perturbations smaller than half an input step and amplifies "
            "those just above it, since each value it moves moves by a whole step (Costa & Pinto, David and Goliath).";
  f.summary = text;
  f.verdict = attenuates && amplifies ? "agrees" : attenuates || amplifies ? "mixed" : "disagrees";
  f.data = {{"samples", x.dim(0)},       {"max_iter", p.max_iter},     {"int8_clean_accuracy", int8_clean},
            {"float_clean_accuracy", float_clean}, {"attenuates", attenuates}, {"amplifies", amplifies},
            {"points", rows}};
  LinePlot plot;
  plot.title = "PGD with continuous iterates, around half an input step";
  plot.x_label = "eps (input steps of 1/255)";
  plot.y_label = "robust accuracy";
  plot.y_percent = true;
  plot.y_min = 0;
  plot.y_max = 1;
  plot.series = {int8_line, float_line};
  SLING_ASSIGN_OR_RETURN(std::string png, render_line_plot(plot));
  f.plots.emplace_back("input_quantization.png", std::move(png));
  return f;
}

}  // namespace slingshot
