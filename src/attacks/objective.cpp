// Attack objectives and their logit gradients (see objective.h).
#include "attacks/objective.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace slingshot {
namespace {

// Index of the largest logit other than `skip`.
int64_t best_other(const float* z, int64_t k, int64_t skip) {
  int64_t best = -1;
  for (int64_t j = 0; j < k; ++j)
    if (j != skip && (best < 0 || z[j] > z[best])) best = j;
  return best;
}

}  // namespace

int top1_class(const Tensor& logits, int64_t row) {
  const int64_t k = logits.dim(1);
  const float* z = logits.data() + row * k;
  if (std::any_of(z, z + k, [](float v) { return std::isnan(v); })) return kAbstain;
  return static_cast<int>(std::max_element(z, z + k) - z);
}

std::vector<int> top1_classes(const Tensor& logits) {
  std::vector<int> out(static_cast<size_t>(logits.dim(0)));
  for (int64_t r = 0; r < logits.dim(0); ++r) out[static_cast<size_t>(r)] = top1_class(logits, r);
  return out;
}

Status attack_objective(const Tensor& logits, const Objective& o, Tensor& value, Tensor* grad) {
  if (logits.rank() != 2) return invalid_argument("attack objective: logits must be [N, classes]");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  const bool targeted = !o.targets.empty();
  if (static_cast<int64_t>(o.labels.size()) != n || (targeted && static_cast<int64_t>(o.targets.size()) != n))
    return invalid_argument("attack objective: " + std::to_string(n) + " logit rows but " +
                            std::to_string(o.labels.size()) + " labels");
  if (k < 2) return invalid_argument("attack objective: needs at least 2 classes");
  if (o.kind == LossKind::kDlr && k < (targeted ? 4 : 3))
    return invalid_argument("the DLR loss needs at least " + std::to_string(targeted ? 4 : 3) + " classes, the model has " +
                            std::to_string(k));
  value = Tensor({n});
  if (grad) {
    grad->resize({n, k});
    grad->fill(0.0f);
  }
  std::vector<int64_t> order(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    const float* z = logits.data() + r * k;
    float* g = grad ? grad->data() + r * k : nullptr;
    const int64_t y = o.labels[r];
    const int64_t t = targeted ? o.targets[r] : -1;
    if (y < 0 || y >= k || (targeted && (t < 0 || t >= k)))
      return invalid_argument("attack objective: class " + std::to_string(targeted && (t < 0 || t >= k) ? t : y) +
                              " is outside [0, " + std::to_string(k) + ")");
    switch (o.kind) {
      case LossKind::kCrossEntropy: {
        const int64_t c = targeted ? t : y;
        const float m = *std::max_element(z, z + k);
        double sum = 0;
        for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j] - m));
        const double ce = std::log(sum) + m - z[c];
        value[r] = static_cast<float>(targeted ? -ce : ce);
        if (g) {
          const float sign = targeted ? -1.0f : 1.0f;
          for (int64_t j = 0; j < k; ++j)
            g[j] = sign * static_cast<float>(std::exp(static_cast<double>(z[j] - m)) / sum - (j == c ? 1.0 : 0.0));
        }
        break;
      }
      case LossKind::kProbability: {
        const int64_t c = targeted ? t : y;
        const float m = *std::max_element(z, z + k);
        double sum = 0;
        for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j] - m));
        const double pc = std::exp(static_cast<double>(z[c] - m)) / sum;
        const double sign = targeted ? 1.0 : -1.0;
        value[r] = static_cast<float>(sign * pc);
        if (g) {
          // d p_c / d z_j = p_c (1[j == c] - p_j)
          for (int64_t j = 0; j < k; ++j) {
            const double pj = std::exp(static_cast<double>(z[j] - m)) / sum;
            g[j] = static_cast<float>(sign * pc * ((j == c ? 1.0 : 0.0) - pj));
          }
        }
        break;
      }
      case LossKind::kCwMargin: {
        const int64_t c = targeted ? t : y;
        const int64_t other = best_other(z, k, c);
        const float margin = targeted ? z[c] - z[other] : z[other] - z[c];
        value[r] = std::min(margin, o.confidence);
        if (g && margin < o.confidence) {
          g[c] = targeted ? 1.0f : -1.0f;
          g[other] = targeted ? -1.0f : 1.0f;
        }
        break;
      }
      case LossKind::kDlr: {
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return z[a] > z[b]; });
        constexpr double kTiny = 1e-12;
        if (!targeted) {
          const int64_t other = best_other(z, k, y);
          const double num = static_cast<double>(z[y]) - z[other];
          const double den = static_cast<double>(z[order[0]]) - z[order[2]] + kTiny;
          value[r] = static_cast<float>(-num / den);
          if (g) {
            // d(-num/den) = -dnum/den + num/den^2 * dden
            g[y] += static_cast<float>(-1.0 / den);
            g[other] += static_cast<float>(1.0 / den);
            g[order[0]] += static_cast<float>(num / (den * den));
            g[order[2]] -= static_cast<float>(num / (den * den));
          }
        } else {
          const double num = static_cast<double>(z[y]) - z[t];
          const double den = static_cast<double>(z[order[0]]) - 0.5 * (static_cast<double>(z[order[2]]) + z[order[3]]) + kTiny;
          value[r] = static_cast<float>(-num / den);
          if (g) {
            g[y] += static_cast<float>(-1.0 / den);
            g[t] += static_cast<float>(1.0 / den);
            g[order[0]] += static_cast<float>(num / (den * den));
            g[order[2]] -= static_cast<float>(0.5 * num / (den * den));
            g[order[3]] -= static_cast<float>(0.5 * num / (den * den));
          }
        }
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace slingshot
