// Robustness curves (see robustness_curve.h).
#include "metrics/robustness_curve.h"

#include <cmath>

namespace slingshot {

Result<std::vector<CurveLine>> robustness_curves(Attack& attack, std::span<const CurveTarget> targets, const Tensor& x,
                                                 std::span<const int> y, std::span<const float> eps,
                                                 const AttackParams& params, const CurveProgress& progress) {
  if (targets.empty()) return invalid_argument("a robustness curve needs at least one target");
  if (eps.empty()) return invalid_argument("a robustness curve needs at least one eps");
  if (x.rank() < 1 || x.dim(0) == 0) return invalid_argument("a robustness curve needs at least one sample");
  if (x.dim(0) != static_cast<int64_t>(y.size()))
    return invalid_argument(std::to_string(x.dim(0)) + " samples but " + std::to_string(y.size()) + " labels");
  for (float e : eps)
    if (!(e >= 0) || !std::isfinite(e))
      return invalid_argument("every eps of a curve must be a finite number >= 0, got " + std::to_string(e));
  for (const CurveTarget& t : targets)
    if (!t.target) return invalid_argument("curve target '" + t.name + "' is missing");
  if (!attack.bounded_by_eps()) return invalid_argument(std::string("attack '") + attack.name() + "' is not bounded by eps");

  std::vector<CurveLine> lines(targets.size());
  const int64_t n = x.dim(0);
  const int total = static_cast<int>(targets.size() * eps.size());
  int done = 0;
  Tensor batch;
  for (size_t l = 0; l < targets.size(); ++l) lines[l].name = targets[l].name;
  // Eps-major, so every line of a live plot grows together.
  for (size_t e = 0; e < eps.size(); ++e) {
    for (size_t l = 0; l < targets.size(); ++l) {
      AttackParams p = params;
      p.eps = eps[e];
      std::vector<ExampleRecord> records;
      CurvePoint point;
      point.eps = eps[e];
      for (int64_t first = 0; first < n; first += p.batch_size) {
        const int64_t count = std::min<int64_t>(p.batch_size, n - first);
        batch = batch_rows(x, first, count);
        SLING_ASSIGN_OR_RETURN(BatchOutcome out,
                               attack_batch(attack, *targets[l].target, batch, y.subspan(static_cast<size_t>(first), count),
                                            first, p, targets[l].reference));
        records.insert(records.end(), out.records.begin(), out.records.end());
        point.seconds += out.seconds;
      }
      const AttackSummary s = summarize(records);
      lines[l].clean_accuracy = s.clean_accuracy;
      point.robust_accuracy = s.robust_accuracy;
      point.success_rate = s.success_rate;
      point.mean_distortion = s.mean_distortion;
      lines[l].points.push_back(point);
      ++done;
      if (progress && !progress(lines, static_cast<int>(l), static_cast<int>(e), static_cast<double>(done) / total))
        return cancelled("robustness curve cancelled");
    }
  }
  return lines;
}

}  // namespace slingshot
