// Gradient alignment (see gradient_alignment.h).
#include "metrics/gradient_alignment.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slingshot {

double gradient_cosine(std::span<const float> a, std::span<const float> b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na == 0 || nb == 0) return std::numeric_limits<double>::quiet_NaN();
  // Rounding can push |cos| a hair past 1 for parallel vectors.
  return std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0);
}

double zero_density(std::span<const float> g) {
  if (g.empty()) return 0;
  size_t zeros = 0;
  for (float v : g) zeros += v == 0.0f;
  return static_cast<double>(zeros) / static_cast<double>(g.size());
}

Result<GradientAlignment> compare_gradients(Target& a, Target& b, const Tensor& x, const Objective& objective) {
  if (x.rank() < 2 || x.dim(0) == 0) return invalid_argument("gradient comparison needs a batch of at least one sample");
  if (a.input_shape() != b.input_shape())
    return invalid_argument("the two targets take different inputs: " + shape_to_string(a.input_shape()) + " and " +
                            shape_to_string(b.input_shape()));
  Tensor value_a, grad_a, value_b, grad_b;
  SLING_RETURN_IF_ERROR(a.loss_grad(x, objective, value_a, grad_a));
  SLING_RETURN_IF_ERROR(b.loss_grad(x, objective, value_b, grad_b));
  const int64_t n = x.dim(0), per = x.numel() / n;
  GradientAlignment out;
  double cos_sum = 0;
  for (int64_t s = 0; s < n; ++s) {
    const std::span<const float> ga(grad_a.data() + s * per, static_cast<size_t>(per));
    const std::span<const float> gb(grad_b.data() + s * per, static_cast<size_t>(per));
    const double c = gradient_cosine(ga, gb);
    out.cosine.push_back(c);
    if (std::isnan(c)) {
      ++out.undefined;
    } else {
      cos_sum += c;
    }
    out.zero_density_a.push_back(zero_density(ga));
    out.zero_density_b.push_back(zero_density(gb));
    out.mean_zero_density_a += out.zero_density_a.back() / static_cast<double>(n);
    out.mean_zero_density_b += out.zero_density_b.back() / static_cast<double>(n);
  }
  const int64_t defined = n - out.undefined;
  out.mean_cosine = defined > 0 ? cos_sum / static_cast<double>(defined) : std::numeric_limits<double>::quiet_NaN();
  return out;
}

}  // namespace slingshot
