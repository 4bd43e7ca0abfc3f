// Shared attack-report fields (see attack_report.h).
#include "attacks/attack_report.h"

namespace slingshot {

nlohmann::json attack_params_json(const AttackParams& p) {
  return {{"norm", norm_name(p.norm)},   {"eps", p.eps},
          {"eps_step", p.eps_step},      {"max_iter", p.max_iter},
          {"num_random_init", p.num_random_init}, {"targeted", p.targeted},
          {"target", p.target},          {"batch_size", p.batch_size},
          {"seed", p.seed},              {"max_queries", p.max_queries},
          {"pixel_valid", p.pixel_valid}, {"loss", loss_name(p.loss)},
          {"extra", p.extra}};
}

nlohmann::json example_record_json(const ExampleRecord& r) {
  nlohmann::json j = {{"index", r.index},
          {"label", r.label},
          {"target", r.target},
          {"clean_prediction", r.clean_prediction},
          {"adversarial_prediction", r.adversarial_prediction},
          {"attacked", r.attacked},
          {"success", r.success},
          {"l0", r.distortion.l0},
          {"l1", r.distortion.l1},
          {"l2", r.distortion.l2},
          {"linf", r.distortion.linf}};
  if (r.reference_clean_prediction >= 0) {
    j["reference_clean_prediction"] = r.reference_clean_prediction;
    j["reference_adversarial_prediction"] = r.reference_adversarial_prediction;
  }
  return j;
}

nlohmann::json attack_summary_json(const AttackSummary& s, const TargetCounts& counts) {
  return {{"clean_accuracy", s.clean_accuracy},
          {"robust_accuracy", s.robust_accuracy},
          {"success_rate", s.success_rate},
          {"attacked", s.attacked},
          {"mean_distortion_of_successes",
           {{"l0", s.mean_distortion.l0}, {"l1", s.mean_distortion.l1}, {"l2", s.mean_distortion.l2},
            {"linf", s.mean_distortion.linf}}},
          {"queries",
           {{"predictions", counts.predictions}, {"gradients", counts.gradients}, {"fd_evaluations", counts.fd_evaluations}}}};
}

}  // namespace slingshot
