// Finding 2: integer models show vanishing gradients and a large distance to their
// decision boundary. Does that protect them, or only mask the gradient?
//
// On the int8 model: the zero density of its input gradient from finite differences on
// the integer engine (what a naive attacker of the deployed model gets), from STE and from
// the float master; PGD at 4/255 through each of those gradients, judged on int8-ref; and
// the minimal L2 distance to the boundary (DeepFool, bisected on the deployed engine) of
// the int8 model against its float master.
#include <cmath>

#include "metrics/gradient_alignment.h"
#include "report/plot.h"
#include "study/study.h"

namespace slingshot {

Result<Finding> finding_gradient_masking(StudyContext& ctx) {
  const int64_t n = ctx.pick(32, 200), n_fd = ctx.pick(4, 24);
  const Tensor x = ctx.images(n), x_fd = ctx.images(n_fd);
  const std::vector<int> y = ctx.labels(n), y_fd = ctx.labels(n_fd);
  SLING_ASSIGN_OR_RETURN(auto ste, ctx.target("resnet8_int8", EngineKind::kInt8Ref, GradientSource::kSte));
  SLING_ASSIGN_OR_RETURN(auto transfer, ctx.target("resnet8_int8", EngineKind::kInt8Ref, GradientSource::kFloat));
  SLING_ASSIGN_OR_RETURN(auto fd, ctx.target("resnet8_int8", EngineKind::kInt8Simd, GradientSource::kFd));
  SLING_ASSIGN_OR_RETURN(auto flt, ctx.target("resnet8_int8", EngineKind::kFloat, GradientSource::kFloat));

  // Zero density of one gradient per sample, fd against STE on the same samples.
  const Objective ce{LossKind::kCrossEntropy, y_fd, {}};
  SLING_ASSIGN_OR_RETURN(const GradientAlignment fd_vs_ste, compare_gradients(*fd, *ste, x_fd, ce));
  SLING_ASSIGN_OR_RETURN(const GradientAlignment float_vs_ste, compare_gradients(*flt, *ste, x_fd, ce));

  // PGD through each gradient source, judged on the integer engine.
  AttackParams p;
  p.eps = 4.0f / 255;
  p.max_iter = static_cast<int>(ctx.pick(5, 20));
  p.batch_size = 50;
  SLING_ASSIGN_OR_RETURN(const auto r_ste, ctx.attack_records("pgd", *ste, x, y, p));
  SLING_ASSIGN_OR_RETURN(const auto r_transfer, ctx.attack_records("pgd", *transfer, x, y, p));
  AttackParams p_fd = p;
  p_fd.max_iter = static_cast<int>(ctx.pick(3, 10));
  SLING_ASSIGN_OR_RETURN(const auto r_fd, ctx.attack_records("pgd", *fd, x_fd, y_fd, p_fd));
  SLING_ASSIGN_OR_RETURN(const auto r_ste_fd_set, ctx.attack_records("pgd", *ste, x_fd, y_fd, p_fd));
  const AttackSummary s_ste = summarize(r_ste), s_transfer = summarize(r_transfer), s_fd = summarize(r_fd),
                      s_ste_small = summarize(r_ste_fd_set);

  // Boundary distances, int8 against float.
  SLING_ASSIGN_OR_RETURN(const BoundaryDistances d_int8, ctx.boundary_distances(*ste, x, y));
  SLING_ASSIGN_OR_RETURN(const BoundaryDistances d_float, ctx.boundary_distances(*flt, x, y));

  // The claim has three parts, judged separately: the integer gradient mostly vanishes,
  // the boundary is farther, and attacks through a working gradient still succeed where
  // the integer model's own gradient fails (masking, not robustness).
  const bool vanishing = fd_vs_ste.mean_zero_density_a > 0.5;
  const double distance_ratio = d_int8.median / d_float.median;
  const bool farther = distance_ratio > 1.1;
  const bool masking = s_fd.robust_accuracy > s_ste_small.robust_accuracy + 0.1;
  const int parts = vanishing + farther + masking;
  char text[1800];
  std::snprintf(
      text, sizeof text,
      "Finite differences on the int8 engine (one input step) give gradients whose components are %.1f%% exactly zero "
      "(%s), against %.1f%% for STE and %.1f%% for the float master (%lld samples). The median L2 distance to the "
      "boundary (DeepFool, bisected on the deployed engine) is %.3f for int8 and %.3f for its float master (ratio %.2f: "
      "%s). PGD at 4/255 judged on int8-ref leaves robust accuracy %.3f through finite differences (%d iterations, "
      "%lld samples) against %.3f through STE on the same samples (%s); on %lld samples, %.3f through STE and %.3f "
      "through the float master (transfer, %d iterations).",
      100 * fd_vs_ste.mean_zero_density_a, vanishing ? "a majority: the gradient vanishes" : "not a majority",
      100 * fd_vs_ste.mean_zero_density_b, 100 * float_vs_ste.mean_zero_density_a, static_cast<long long>(n_fd),
      d_int8.median, d_float.median, distance_ratio, farther ? "int8 is farther" : "no clear difference",
      s_fd.robust_accuracy, p_fd.max_iter, static_cast<long long>(n_fd), s_ste_small.robust_accuracy,
      masking ? "the integer gradient stops the attack, a working gradient does not: masking, not robustness"
              : "the integer gradient is not clearly weaker",
      static_cast<long long>(n), s_ste.robust_accuracy, s_transfer.robust_accuracy, p.max_iter);

  Finding f;
  f.id = "gradient_masking";
  f.title = "Vanishing gradients and boundary distance: protection or masking?";
  f.claim = "Quantized networks have vanishing (mostly zero) input gradients and a larger distance to the decision "
            "boundary; attacks that rely on the integer model's own gradient fail, but this is gradient masking rather "
            "than robustness (Galloway et al. 2018; Bernhard et al. 2019).";
  f.summary = text;
  f.verdict = parts == 3 ? "agrees" : parts == 0 ? "disagrees" : "mixed";
  f.data = {{"zero_density", {{"fd", fd_vs_ste.mean_zero_density_a}, {"ste", fd_vs_ste.mean_zero_density_b},
                              {"float", float_vs_ste.mean_zero_density_a}}},
            {"robust_accuracy_4_255", {{"ste", s_ste.robust_accuracy}, {"float_transfer", s_transfer.robust_accuracy},
                                       {"fd", s_fd.robust_accuracy}, {"ste_on_fd_samples", s_ste_small.robust_accuracy}}},
            {"clean_accuracy", s_ste.clean_accuracy},
            {"boundary_distance_l2", {{"int8_median", d_int8.median}, {"float_median", d_float.median},
                                      {"int8_found", d_int8.found}, {"float_found", d_float.found},
                                      {"int8", d_int8.distance}, {"float", d_float.distance}}},
            {"vanishing", vanishing}, {"farther", farther}, {"masking", masking},
            {"samples", n}, {"fd_samples", n_fd}};
  Histogram h;
  h.title = "Minimal L2 distance to the decision boundary (DeepFool, bisected)";
  h.x_label = "L2 distance";
  h.series = {{"int8 (int8-ref)", d_int8.distance}, {"float master", d_float.distance}};
  h.bins = 24;
  SLING_ASSIGN_OR_RETURN(std::string png, render_histogram(h));
  f.plots.emplace_back("boundary_distance.png", std::move(png));
  return f;
}

}  // namespace slingshot
