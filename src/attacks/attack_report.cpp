// Shared attack-report fields (see attack_report.h).
#include "attacks/attack_report.h"

#include <algorithm>

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

Result<ExampleRecord> example_record_from_json(const nlohmann::json& j) {
  ExampleRecord r;
  try {
    r.index = j.at("index").get<int64_t>();
    r.label = j.at("label").get<int>();
    r.target = j.at("target").get<int>();
    r.clean_prediction = j.at("clean_prediction").get<int>();
    r.adversarial_prediction = j.at("adversarial_prediction").get<int>();
    r.attacked = j.at("attacked").get<bool>();
    r.success = j.at("success").get<bool>();
    r.distortion = {j.at("l0").get<double>(), j.at("l1").get<double>(), j.at("l2").get<double>(),
                    j.at("linf").get<double>()};
    r.reference_clean_prediction = j.value("reference_clean_prediction", -1);
    r.reference_adversarial_prediction = j.value("reference_adversarial_prediction", -1);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("malformed example record: ") + e.what());
  }
  return r;
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

nlohmann::json batch_outcome_json(const BatchOutcome& out, int64_t first_index) {
  nlohmann::json line = {{"first_index", first_index},
                         {"counts", {{"predictions", out.counts.predictions},
                                     {"gradients", out.counts.gradients},
                                     {"fd_evaluations", out.counts.fd_evaluations}}},
                         {"reference_counts", {{"predictions", out.reference_counts.predictions},
                                               {"gradients", out.reference_counts.gradients}}},
                         {"seconds", out.seconds},
                         {"zero_density", out.zero_density},
                         {"notes", out.notes},
                         {"records", nlohmann::json::array()}};
  for (const ExampleRecord& r : out.records) line["records"].push_back(example_record_json(r));
  return line;
}

Status add_batch_json(AttackTally& t, const nlohmann::json& line) {
  try {
    for (const auto& r : line.at("records")) {
      SLING_ASSIGN_OR_RETURN(ExampleRecord record, example_record_from_json(r));
      t.records.push_back(record);
    }
    const auto& c = line.at("counts");
    t.counts.predictions += c.at("predictions").get<int64_t>();
    t.counts.gradients += c.at("gradients").get<int64_t>();
    t.counts.fd_evaluations += c.at("fd_evaluations").get<int64_t>();
    if (line.contains("reference_counts")) {
      const auto& rc = line.at("reference_counts");
      t.reference_counts.predictions += rc.at("predictions").get<int64_t>();
      t.reference_counts.gradients += rc.at("gradients").get<int64_t>();
    }
    t.seconds += line.at("seconds").get<double>();
    const double z = line.at("zero_density").get<double>();
    if (z >= 0) {
      t.zero_density_sum += z;
      ++t.zero_density_batches;
    }
    t.next_index = line.at("first_index").get<int64_t>() + static_cast<int64_t>(line.at("records").size());
    for (const auto& note : line.at("notes")) {
      const std::string text = note.get<std::string>();
      if (std::find(t.notes.begin(), t.notes.end(), text) == t.notes.end()) t.notes.push_back(text);
    }
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(std::string("malformed batch: ") + e.what());
  }
  return Status::Ok();
}

nlohmann::json attack_tally_json(const AttackTally& t, bool with_reference) {
  const AttackSummary s = summarize(t.records);
  nlohmann::json j = attack_summary_json(s, t.counts);
  if (with_reference) {
    j["reference"] = {{"clean_accuracy", s.reference_clean_accuracy},
                      {"robust_accuracy", s.reference_robust_accuracy},
                      {"queries", {{"predictions", t.reference_counts.predictions},
                                   {"gradients", t.reference_counts.gradients}}}};
  }
  j["gradient_zero_density"] = nullptr;
  if (t.zero_density_batches) j["gradient_zero_density"] = t.zero_density_sum / t.zero_density_batches;
  j["notes"] = t.notes;
  return j;
}

}  // namespace slingshot
