// The feature-squeezing detector (see squeeze_detector.h).
#include "defenses/squeeze_detector.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"
#include "defenses/preprocessor.h"

namespace slingshot {
namespace {

// Row-wise softmax of logits [N, K].
std::vector<double> softmax_rows(const Tensor& logits) {
  const int64_t n = logits.dim(0), k = logits.dim(1);
  std::vector<double> p(static_cast<size_t>(n * k));
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * k;
    const float top = *std::max_element(z, z + k);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[i * k + j] = std::exp(static_cast<double>(z[j]) - top);
    for (int64_t j = 0; j < k; ++j) p[i * k + j] /= sum;
  }
  return p;
}

double share_above(const std::vector<double>& scores, double threshold) {
  if (scores.empty()) return 0;
  return static_cast<double>(std::count_if(scores.begin(), scores.end(), [&](double s) { return s > threshold; })) /
         static_cast<double>(scores.size());
}

}  // namespace

Result<SqueezeDetector> SqueezeDetector::make(std::vector<std::string> squeezers) {
  if (squeezers.empty()) return invalid_argument("the squeezing detector needs at least one squeezer");
  for (const std::string& spec : squeezers) {
    SLING_ASSIGN_OR_RETURN(auto p, make_preprocessor(spec));
    if (p->randomized())
      return invalid_argument("squeezer '" + spec + "' is randomized; the detector compares deterministic squeezings");
  }
  SqueezeDetector d;
  d.specs_ = std::move(squeezers);
  return d;
}

Result<std::vector<double>> SqueezeDetector::scores(Target& model, const Tensor& x) const {
  if (x.rank() < 2 || x.dim(0) == 0) return invalid_argument("the detector scores a batch of at least one input");
  Tensor logits, squeezed, squeezed_logits;
  SLING_RETURN_IF_ERROR(model.predict(x, logits));
  const std::vector<double> p = softmax_rows(logits);
  const int64_t n = x.dim(0), k = logits.dim(1);
  std::vector<double> score(static_cast<size_t>(n), 0.0);
  Rng unused(0);  // the squeezers are deterministic
  for (const std::string& spec : specs_) {
    SLING_ASSIGN_OR_RETURN(auto squeezer, make_preprocessor(spec));
    SLING_RETURN_IF_ERROR(squeezer->apply(x, model.domain(), unused, squeezed));
    SLING_RETURN_IF_ERROR(model.predict(squeezed, squeezed_logits));
    const std::vector<double> q = softmax_rows(squeezed_logits);
    for (int64_t i = 0; i < n; ++i) {
      double l1 = 0;
      for (int64_t j = 0; j < k; ++j) l1 += std::fabs(p[i * k + j] - q[i * k + j]);
      score[static_cast<size_t>(i)] = std::max(score[static_cast<size_t>(i)], l1);
    }
  }
  return score;
}

Status SqueezeDetector::calibrate(Target& model, const Tensor& clean, double fpr) {
  if (!(fpr >= 0 && fpr < 1)) return invalid_argument("the false-positive rate must be in [0, 1), got " + std::to_string(fpr));
  SLING_ASSIGN_OR_RETURN(std::vector<double> s, scores(model, clean));
  std::sort(s.begin(), s.end());
  // The smallest threshold that flags at most floor(fpr * n) clean inputs.
  const size_t allowed = static_cast<size_t>(std::floor(fpr * static_cast<double>(s.size())));
  threshold_ = s[s.size() - 1 - std::min(allowed, s.size() - 1)];
  calibrated_ = true;
  return Status::Ok();
}

Result<DetectionReport> SqueezeDetector::evaluate(Target& model, const Tensor& clean, const Tensor& adversarial) const {
  if (!calibrated_) return invalid_argument("calibrate the detector on clean inputs first");
  SLING_ASSIGN_OR_RETURN(const std::vector<double> c, scores(model, clean));
  SLING_ASSIGN_OR_RETURN(const std::vector<double> a, scores(model, adversarial));
  DetectionReport r;
  r.threshold = threshold_;
  r.false_positive_rate = share_above(c, threshold_);
  r.detection_rate = share_above(a, threshold_);
  r.clean = static_cast<int64_t>(c.size());
  r.adversarial = static_cast<int64_t>(a.size());
  return r;
}

}  // namespace slingshot
