// Randomized smoothing (see randomized_smoothing.h). The statistics are computed here
// rather than borrowed: binomial tails in log space (exact for the n of a certificate),
// bounds and quantiles by bisection, which is monotone and needs no special functions
// beyond lgamma and erfc.
#include "defenses/randomized_smoothing.h"

#include <algorithm>
#include <cmath>

#include "attacks/objective.h"
#include "core/rng.h"

namespace slingshot {
namespace {

// P(Bin(n, p) >= k), summed in log space from k upwards.
double binomial_upper_tail(int64_t k, int64_t n, double p) {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const double lp = std::log(p), lq = std::log1p(-p), lgn = std::lgamma(static_cast<double>(n) + 1);
  double sum = 0;
  for (int64_t j = k; j <= n; ++j) {
    const double log_term = lgn - std::lgamma(static_cast<double>(j) + 1) - std::lgamma(static_cast<double>(n - j) + 1) +
                            j * lp + (n - j) * lq;
    sum += std::exp(log_term);
  }
  return std::min(1.0, sum);
}

Status check_config(const SmoothingConfig& c) {
  if (!(c.sigma > 0) || !std::isfinite(c.sigma)) return invalid_argument("smoothing sigma must be a finite number > 0");
  if (c.n0 < 1 || c.n < 1 || c.n > 10000000) return invalid_argument("smoothing needs n0 >= 1 and 1 <= n <= 1e7 draws");
  if (!(c.alpha > 0 && c.alpha < 1)) return invalid_argument("smoothing alpha must be in (0, 1)");
  if (c.batch < 1) return invalid_argument("smoothing batch must be at least 1");
  return Status::Ok();
}

// Votes of the base classifier on `draws` noisy copies of x.
Result<std::vector<int64_t>> vote(Target& base, const Tensor& x, int64_t draws, const SmoothingConfig& c, Rng& rng) {
  const Shape sample = base.input_shape();
  if (x.numel() != shape_numel(sample))
    return invalid_argument("smoothing takes one sample of " + shape_to_string(sample) + ", got " + shape_to_string(x.shape()));
  const int64_t per = x.numel();
  std::vector<int64_t> counts(static_cast<size_t>(base.num_classes()), 0);
  Tensor batch, logits;
  for (int64_t done = 0; done < draws; done += c.batch) {
    const int64_t count = std::min(c.batch, draws - done);
    Shape s = sample;
    s.insert(s.begin(), count);
    batch.resize(s);
    for (int64_t i = 0; i < count; ++i)
      for (int64_t j = 0; j < per; ++j) batch[i * per + j] = x[j] + c.sigma * rng.normal();
    SLING_RETURN_IF_ERROR(base.predict(batch, logits));
    for (int64_t i = 0; i < count; ++i) {
      const int c = top1_class(logits, i);
      if (c != kAbstain) ++counts[static_cast<size_t>(c)];  // an abstaining base votes for nothing
    }
  }
  return counts;
}

}  // namespace

double clopper_pearson_lower(int64_t k, int64_t n, double alpha) {
  if (k <= 0 || n <= 0) return 0;
  if (k >= n) return std::pow(alpha, 1.0 / static_cast<double>(n));  // P(X >= n) = p^n
  double lo = 0, hi = 1;
  for (int it = 0; it < 100; ++it) {
    const double mid = (lo + hi) / 2;
    (binomial_upper_tail(k, n, mid) < alpha ? lo : hi) = mid;
  }
  return lo;
}

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) return p <= 0 ? -INFINITY : INFINITY;
  double lo = -40, hi = 40;
  for (int it = 0; it < 200; ++it) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

double binomial_test_half(int64_t k, int64_t n) {
  if (n <= 0) return 1;
  const int64_t extreme = std::max(k, n - k);
  return std::min(1.0, 2 * binomial_upper_tail(extreme, n, 0.5));
}

Result<SmoothedPrediction> smoothed_predict(Target& base, const Tensor& x, const SmoothingConfig& config) {
  SLING_RETURN_IF_ERROR(check_config(config));
  Rng rng(config.seed);
  SmoothedPrediction out;
  SLING_ASSIGN_OR_RETURN(out.counts, vote(base, x, config.n, config, rng));
  std::vector<size_t> order(out.counts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return out.counts[a] > out.counts[b]; });
  const int64_t top = out.counts[order[0]], second = order.size() > 1 ? out.counts[order[1]] : 0;
  if (binomial_test_half(top, top + second) <= config.alpha) out.top_class = static_cast<int>(order[0]);
  return out;
}

Result<SmoothedPrediction> smoothed_certify(Target& base, const Tensor& x, const SmoothingConfig& config) {
  SLING_RETURN_IF_ERROR(check_config(config));
  Rng rng(config.seed);
  SLING_ASSIGN_OR_RETURN(const std::vector<int64_t> selection, vote(base, x, config.n0, config, rng));
  const int guess = static_cast<int>(std::max_element(selection.begin(), selection.end()) - selection.begin());
  SmoothedPrediction out;
  SLING_ASSIGN_OR_RETURN(out.counts, vote(base, x, config.n, config, rng));
  out.p_lower = clopper_pearson_lower(out.counts[static_cast<size_t>(guess)], config.n, config.alpha);
  if (out.p_lower > 0.5) {
    out.top_class = guess;
    out.radius = config.sigma * normal_quantile(out.p_lower);
  }
  return out;
}

}  // namespace slingshot
